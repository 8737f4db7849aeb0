//! Can Slipway reach a host target? What the admin's "Test connection"
//! runs: `ssh-keyscan` for the host's keys and their SHA256 fingerprints
//! (`ssh-keygen -l`), whether Slipway's known_hosts file already trusts them
//! (`ssh-keygen -F`), adding a scanned key to that file, and a login with
//! the release's own ssh options (`ssh … true`, strict host key checking),
//! an rsync daemon listing, or a look at a local directory.
//!
//! Every program runs from an argument vector ([`crate::process`]); the host
//! name and port come from a parsed [`Target`](super::Target), whose
//! character set keeps them literal.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::process::{self, OutputLine, ProcessSpec, Stream};

use super::rsync::ssh_options_for;
use super::SshSettings;

/// The known_hosts file Slipway pins host keys in (releases, rollbacks and
/// "Test connection" use it): `<data_dir>/ssh/known_hosts`.
pub fn known_hosts_file(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("ssh").join("known_hosts")
}

/// Whether Slipway's known_hosts file trusts a scanned key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// The file holds this key for the host.
    Trusted,
    /// The file holds no key of this type for the host.
    Unknown,
    /// The file holds a different key of this type for the host: the host's
    /// key changed (or someone is in the middle).
    Changed,
}

impl KeyStatus {
    /// `trusted`, `unknown` or `changed` (translation keys).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Trusted => "trusted",
            KeyStatus::Unknown => "unknown",
            KeyStatus::Changed => "changed",
        }
    }
}

/// One host key as `ssh-keyscan` reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedKey {
    /// The known_hosts line, exactly as scanned (`name type base64`).
    pub line: String,
    /// The key type, e.g. `ssh-ed25519`.
    pub key_type: String,
    /// `SHA256:…`.
    pub fingerprint: String,
    /// Whether Slipway trusts it.
    pub status: KeyStatus,
}

/// The outcome of a reachability check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reach {
    /// Whether the host answered as a release needs.
    pub ok: bool,
    /// What was run, for the admin (no secrets: paths and names only).
    pub command: String,
    /// The program's last output lines.
    pub output: Vec<String>,
}

/// How a host appears in known_hosts: `host`, or `[host]:port` for a port other than 22.
pub fn known_hosts_name(host: &str, port: Option<u16>) -> String {
    match port {
        Some(p) if p != 22 => format!("[{host}]:{p}"),
        _ => host.to_owned(),
    }
}

fn run_lines(spec: &ProcessSpec) -> Result<(bool, Vec<String>, Vec<String>), String> {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let outcome = process::run(spec, &mut |l: OutputLine| match l.stream {
        Stream::Stdout if out.len() < 200 => out.push(l.text),
        Stream::Stderr if err.len() < 200 => err.push(l.text),
        _ => {}
    })
    .map_err(|e| e.to_string())?;
    Ok((outcome.success(), out, err))
}

/// The SHA256 fingerprint of a known_hosts line.
pub fn fingerprint(line: &str) -> Result<String, String> {
    let spec = ProcessSpec::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f", "-"])
        .stdin(format!("{line}\n"))
        .timeout(Duration::from_secs(10));
    let (ok, out, err) = run_lines(&spec)?;
    let fp = out
        .first()
        .and_then(|l| l.split_whitespace().nth(1))
        .filter(|f| ok && f.starts_with("SHA256:"));
    fp.map(str::to_owned)
        .ok_or_else(|| format!("ssh-keygen -l: {}", err.join(" ")))
}

/// The (type, base64 key) pairs `known_hosts` holds for `name`.
pub fn known_keys(known_hosts: &Path, name: &str) -> Result<Vec<(String, String)>, String> {
    if !known_hosts.exists() {
        return Ok(Vec::new());
    }
    let spec = ProcessSpec::new("ssh-keygen")
        .arg("-F")
        .arg(name)
        .arg("-f")
        .arg(known_hosts)
        .timeout(Duration::from_secs(10));
    let (_found, out, _) = run_lines(&spec)?;
    Ok(out
        .iter()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // Marker lines (`@cert-authority`, `@revoked`) are not plain trust.
            (f.len() >= 3 && !f[0].starts_with('@')).then(|| (f[1].to_owned(), f[2].to_owned()))
        })
        .collect())
}

/// Scans `host` (on `port`) for its keys, each with its fingerprint and
/// whether `known_hosts` trusts it. Err: the host did not answer with a key.
pub fn scan(host: &str, port: Option<u16>, known_hosts: &Path, timeout_secs: u32) -> Result<Vec<ScannedKey>, String> {
    let name = known_hosts_name(host, port);
    let spec = ProcessSpec::new("ssh-keyscan")
        .arg("-T")
        .arg(timeout_secs.max(1).to_string())
        .arg("-p")
        .arg(port.unwrap_or(22).to_string())
        .arg("--")
        .arg(host)
        .timeout(Duration::from_secs(u64::from(timeout_secs) + 10));
    let (_, out, err) = run_lines(&spec)?;
    let known = known_keys(known_hosts, &name)?;
    let mut keys = Vec::new();
    for line in out
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 3 || f[0] != name || line.chars().any(char::is_control) {
            continue;
        }
        let status = if known.iter().any(|(t, k)| t == f[1] && k == f[2]) {
            KeyStatus::Trusted
        } else if known.iter().any(|(t, _)| t == f[1]) {
            KeyStatus::Changed
        } else {
            KeyStatus::Unknown
        };
        keys.push(ScannedKey {
            line: f.join(" "),
            key_type: f[1].to_owned(),
            fingerprint: fingerprint(line)?,
            status,
        });
    }
    if keys.is_empty() {
        let why = err.iter().filter(|l| !l.starts_with('#')).cloned().collect::<Vec<_>>();
        return Err(if why.is_empty() {
            format!("{name} did not answer with an ssh host key")
        } else {
            why.join(" ")
        });
    }
    Ok(keys)
}

/// Appends `line` (a scanned key) to `known_hosts`, creating the file (mode
/// 0600) and its directory (0700) when missing.
pub fn trust(known_hosts: &Path, line: &str) -> std::io::Result<()> {
    if line.chars().any(char::is_control) {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not one line"));
    }
    if let Some(dir) = known_hosts.parent() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir)?;
    }
    let ends_open = std::fs::read(known_hosts)
        .map(|b| b.last().is_some_and(|c| *c != b'\n'))
        .unwrap_or(false);
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(known_hosts)?;
    let text = if ends_open {
        format!("\n{line}\n")
    } else {
        format!("{line}\n")
    };
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

fn reach(spec: &ProcessSpec, command: String, keep_stdout: bool) -> Reach {
    match run_lines(spec) {
        Ok((ok, out, err)) => {
            let mut output: Vec<String> = if keep_stdout { out } else { Vec::new() };
            output.extend(err);
            let skip = output.len().saturating_sub(20);
            Reach {
                ok,
                command,
                output: output.into_iter().skip(skip).collect(),
            }
        }
        Err(e) => Reach {
            ok: false,
            command,
            output: vec![e],
        },
    }
}

/// Logs in as a release would (`ssh … -- login true`, strict host key checking).
pub fn ssh_login(login: &str, ssh: &SshSettings, known_hosts: &Path) -> Reach {
    let mut args = match ssh_options_for(ssh, known_hosts) {
        Ok(a) => a,
        Err(e) => {
            return Reach {
                ok: false,
                command: "ssh".into(),
                output: vec![e.to_string()],
            }
        }
    };
    args.extend(["--".to_owned(), login.to_owned(), "true".to_owned()]);
    let command = format!("ssh {}", args.join(" "));
    let spec = ProcessSpec::new("ssh")
        .args(&args)
        .timeout(Duration::from_secs(u64::from(ssh.connect_timeout_secs) + 20));
    reach(&spec, command, false)
}

/// Lists an rsync daemon module (`rsync --list-only rsync://…/module/`).
pub fn rsync_list(url: &str, password_file: Option<&Path>, timeout_secs: u32) -> Reach {
    let mut spec = ProcessSpec::new("rsync")
        .arg("--no-motd")
        .arg(format!("--contimeout={}", timeout_secs.max(1)))
        .arg(format!("--timeout={}", timeout_secs.max(1) + 10));
    let mut command = "rsync --no-motd --list-only".to_owned();
    if let Some(p) = password_file {
        spec = spec.arg(format!("--password-file={}", p.display()));
        command.push_str(&format!(" --password-file={}", p.display()));
    }
    spec = spec
        .args(["--list-only", "--"])
        .arg(url)
        .timeout(Duration::from_secs(u64::from(timeout_secs) + 30));
    command.push_str(&format!(" -- {url}"));
    let mut r = reach(&spec, command, true);
    r.output.truncate(20);
    r
}

/// Whether a local target's directory exists.
pub fn local_dir(path: &Path) -> Reach {
    let ok = path.is_dir();
    Reach {
        ok,
        command: format!("test -d {}", path.display()),
        output: if ok {
            Vec::new()
        } else {
            vec![format!("{} is not a directory", path.display())]
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_hosts_as_known_hosts_does() {
        assert_eq!(known_hosts_name("web1", None), "web1");
        assert_eq!(known_hosts_name("web1", Some(22)), "web1");
        assert_eq!(known_hosts_name("10.0.0.1", Some(2222)), "[10.0.0.1]:2222");
    }

    #[test]
    fn trust_appends_one_line_and_refuses_two() {
        let dir = tempfile::tempdir().expect("dir");
        let kh = dir.path().join("ssh").join("known_hosts");
        std::fs::create_dir_all(kh.parent().expect("dir")).expect("mkdir");
        std::fs::write(&kh, "a ssh-ed25519 AAAA").expect("write");
        trust(&kh, "b ssh-ed25519 BBBB").expect("trust");
        assert_eq!(
            std::fs::read_to_string(&kh).expect("read"),
            "a ssh-ed25519 AAAA\nb ssh-ed25519 BBBB\n"
        );
        assert!(trust(&kh, "c x\nd y z").is_err());
    }
}
