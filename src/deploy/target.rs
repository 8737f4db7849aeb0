//! Where a host's release goes: `user@host:/path` (ssh), `rsync://host[:port]/module[/path]`
//! (rsync daemon) or `/path` (a local directory).
//!
//! Host names, users, modules and paths are restricted to a conservative
//! character set (letters, digits, `._-+@,=~%` and `/` in paths): no spaces,
//! no control characters, no shell metacharacters, no leading `-`, no `..`.
//! Every value still goes out shell-quoted or as its own argument; the
//! character set is a second fence.

use std::fmt;
use std::path::PathBuf;

use super::DeployError;

/// A parsed host target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `[user@]host:/path`, over ssh.
    Ssh {
        /// Login user (ssh's default when absent).
        user: Option<String>,
        /// Host name or address.
        host: String,
        /// Absolute directory on the host.
        path: String,
    },
    /// `rsync://[user@]host[:port]/module[/path]`, an rsync daemon.
    Daemon {
        /// The daemon user (`auth users`; rsync's default, `$USER`, when absent).
        user: Option<String>,
        /// Host name or address (without the port).
        host: String,
        /// TCP port (rsync's default, 873, when absent).
        port: Option<u16>,
        /// The daemon's module.
        module: String,
        /// Directory inside the module, without leading or trailing `/` (`""`: the module root).
        path: String,
    },
    /// An absolute local directory.
    Local {
        /// The directory.
        path: PathBuf,
    },
}

fn bad(target: &str, why: &str) -> DeployError {
    DeployError::BadTarget {
        target: target.escape_debug().to_string(),
        problem: why.to_owned(),
    }
}

fn word_ok(s: &str, extra: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c) || extra.contains(c))
}

fn path_ok(path: &str) -> bool {
    path.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+@,=~%".contains(c))
        && !path.split('/').any(|part| part == ".." || part.starts_with('-'))
}

impl Target {
    /// Parses and validates a target as written in the host list.
    pub fn parse(s: &str) -> Result<Self, DeployError> {
        if s.is_empty() || s.starts_with('-') || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad(
                s,
                "must be non-empty, without spaces or control characters, and not start with `-`",
            ));
        }
        if let Some(rest) = s.strip_prefix("rsync://") {
            let (authority, rest) = rest
                .split_once('/')
                .ok_or_else(|| bad(s, "rsync:// target needs a module"))?;
            let (user, authority) = match authority.split_once('@') {
                Some((u, a)) => (Some(u), a),
                None => (None, authority),
            };
            if let Some(user) = user {
                if !word_ok(user, "") {
                    return Err(bad(s, "user may hold letters, digits, `.`, `_`, `-`"));
                }
            }
            let (host, port) = match authority.split_once(':') {
                Some((h, p)) => {
                    let port = p
                        .parse::<u16>()
                        .ok()
                        .filter(|p| *p > 0)
                        .ok_or_else(|| bad(s, "bad port"))?;
                    (h, Some(port))
                }
                None => (authority, None),
            };
            let (module, path) = rest.split_once('/').unwrap_or((rest, ""));
            let path = path.trim_matches('/');
            if !word_ok(host, "") {
                return Err(bad(s, "host may hold letters, digits, `.`, `_`, `-`"));
            }
            if !word_ok(module, "") {
                return Err(bad(s, "module may hold letters, digits, `.`, `_`, `-`"));
            }
            if !path_ok(path) {
                return Err(bad(s, "path may hold letters, digits, `/._-+@,=~%`, and no `..`"));
            }
            return Ok(Target::Daemon {
                user: user.map(str::to_owned),
                host: host.to_owned(),
                port,
                module: module.to_owned(),
                path: path.to_owned(),
            });
        }
        if s.starts_with('/') {
            if !path_ok(s) || s == "/" {
                return Err(bad(s, "path may hold letters, digits, `/._-+@,=~%`, and no `..`"));
            }
            return Ok(Target::Local {
                path: PathBuf::from(s.trim_end_matches('/')),
            });
        }
        let (login, path) = s
            .split_once(':')
            .ok_or_else(|| bad(s, "must be user@host:/path, rsync://host/module or an absolute path"))?;
        let (user, host) = match login.split_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, login),
        };
        if let Some(user) = user {
            if !word_ok(user, "") {
                return Err(bad(s, "user may hold letters, digits, `.`, `_`, `-`"));
            }
        }
        if !word_ok(host, "") {
            return Err(bad(s, "host may hold letters, digits, `.`, `_`, `-`"));
        }
        if !path.starts_with('/') || path == "/" || !path_ok(path) {
            return Err(bad(
                s,
                "path must be absolute, with letters, digits, `/._-+@,=~%`, and no `..`",
            ));
        }
        Ok(Target::Ssh {
            user: user.map(str::to_owned),
            host: host.to_owned(),
            path: path.trim_end_matches('/').to_owned(),
        })
    }

    /// The host's address (`localhost` for local targets), as put into a
    /// health-check URL's `{host}`.
    pub fn host_name(&self) -> &str {
        match self {
            Target::Ssh { host, .. } | Target::Daemon { host, .. } => host,
            Target::Local { .. } => "localhost",
        }
    }

    /// The rsync destination for `sub` (a path below the target's directory,
    /// `""` for the directory itself), with a trailing `/`.
    pub(crate) fn rsync_dest(&self, sub: &str) -> String {
        let join = |base: &str| {
            let mut s = base.trim_end_matches('/').to_owned();
            if !sub.is_empty() {
                s.push('/');
                s.push_str(sub);
            }
            s.push('/');
            s
        };
        match self {
            Target::Ssh { user, host, path } => {
                let login = match user {
                    Some(u) => format!("{u}@{host}"),
                    None => host.clone(),
                };
                format!("{login}:{}", join(path))
            }
            Target::Daemon {
                user,
                host,
                port,
                module,
                path,
            } => {
                let mut authority = match user {
                    Some(u) => format!("{u}@{host}"),
                    None => host.clone(),
                };
                if let Some(p) = port {
                    authority.push_str(&format!(":{p}"));
                }
                let base = if path.is_empty() {
                    format!("rsync://{authority}/{module}")
                } else {
                    format!("rsync://{authority}/{module}/{path}")
                };
                join(&base)
            }
            Target::Local { path } => join(&path.to_string_lossy()),
        }
    }

    /// The target's directory on the host (for ssh and local targets).
    pub(crate) fn dir(&self) -> &str {
        match self {
            Target::Ssh { path, .. } => path,
            Target::Daemon { path, .. } => path,
            Target::Local { path } => path.to_str().unwrap_or("/nonexistent"),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dest = self.rsync_dest("");
        f.write_str(dest.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(
            Target::parse("deploy@10.0.0.1:/srv/shop/").unwrap(),
            Target::Ssh {
                user: Some("deploy".into()),
                host: "10.0.0.1".into(),
                path: "/srv/shop".into()
            }
        );
        assert_eq!(
            Target::parse("web1:/srv/shop").unwrap(),
            Target::Ssh {
                user: None,
                host: "web1".into(),
                path: "/srv/shop".into()
            }
        );
        assert_eq!(
            Target::parse("rsync://10.0.0.2:8730/shop/a/b").unwrap(),
            Target::Daemon {
                user: None,
                host: "10.0.0.2".into(),
                port: Some(8730),
                module: "shop".into(),
                path: "a/b".into()
            }
        );
        assert_eq!(
            Target::parse("/srv/shop").unwrap(),
            Target::Local {
                path: "/srv/shop".into()
            }
        );
        assert_eq!(
            Target::parse("rsync://h/m").unwrap().rsync_dest("releases/v1"),
            "rsync://h/m/releases/v1/"
        );
        assert_eq!(Target::parse("u@h:/p").unwrap().rsync_dest(""), "u@h:/p/");
        assert_eq!(
            Target::parse("rsync://d@h:99/m").unwrap().rsync_dest("current"),
            "rsync://d@h:99/m/current/"
        );
        assert_eq!(Target::parse("u@h:/p").unwrap().host_name(), "h");
    }

    #[test]
    fn refuses_hostile_targets() {
        for t in [
            "",
            "-oProxyCommand=x:/p",
            "u@h:/p q",
            "u@h:/p;rm",
            "u@h:/p/$(x)",
            "u@h:/p/`x`",
            "u@h:/p/../etc",
            "u@h:relative",
            "u@h:/",
            "u;x@h:/p",
            "u@h'x:/p",
            "rsync://h",
            "rsync://h:0/m",
            "rsync://h/m/'x",
            "rsync://-u@h/m",
            "/a\nb",
            "/a b",
            "/",
            "relative/path",
        ] {
            assert!(Target::parse(t).is_err(), "{t:?} accepted");
        }
    }
}
