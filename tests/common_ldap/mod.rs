//! A real OpenLDAP `slapd` for tests: its own config file and database in a
//! temp dir, loaded with `slapadd` from a small LDIF, listening on a free
//! loopback port (`-h ldap://127.0.0.1:PORT`, `-f` config, `-d 0` in the
//! foreground), stopped when dropped. Never touches a system instance.
//! Changes while it runs go through `ldapmodify` (ldap-utils) as the root DN.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::net::{free_port, listening_within};

/// The directory's suffix.
pub const BASE: &str = "dc=example,dc=com";
/// Where users live.
pub const PEOPLE: &str = "ou=people,dc=example,dc=com";
/// The admin group.
pub const ADMINS: &str = "cn=slipway-admins,ou=groups,dc=example,dc=com";
/// The root DN (also the service account of the tests).
pub const ROOT_DN: &str = "cn=admin,dc=example,dc=com";
/// Its password.
pub const ROOT_PW: &str = "root-secret-1";

const SCHEMAS: [&str; 4] = ["core", "cosine", "inetorgperson", "nis"];

/// A running `slapd`.
pub struct Slapd {
    child: Child,
    /// Its port on 127.0.0.1 (plain LDAP, StartTLS when started with TLS).
    pub port: u16,
    /// Its `ldaps://` port and the CA file that signed its certificate
    /// (for `localhost`), when started with TLS.
    pub tls: Option<(u16, std::path::PathBuf)>,
    _dir: tempfile::TempDir,
}

/// One directory user: uid, display name (cn), mail, password.
pub struct Person<'a> {
    /// uid.
    pub uid: &'a str,
    /// cn.
    pub cn: &'a str,
    /// mail.
    pub mail: &'a str,
    /// userPassword (plain).
    pub password: &'a str,
}

fn person_ldif(p: &Person<'_>) -> String {
    format!(
        "dn: uid={uid},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {cn}\nsn: {cn}\nmail: {mail}\nuserPassword: {pw}\n\n",
        uid = p.uid,
        cn = p.cn,
        mail = p.mail,
        pw = p.password
    )
}

impl Slapd {
    /// Starts a directory holding `people`; `admins` (uids) are members of
    /// [`ADMINS`].
    pub fn start(people: &[Person<'_>], admins: &[&str]) -> Self {
        Self::start_with(people, admins, false)
    }

    /// Like [`Slapd::start`], also speaking TLS (StartTLS on [`Slapd::port`],
    /// `ldaps://` on the port in [`Slapd::tls`]) with a certificate for
    /// `localhost` from a throwaway CA.
    pub fn start_tls(people: &[Person<'_>], admins: &[&str]) -> Self {
        Self::start_with(people, admins, true)
    }

    fn start_with(people: &[Person<'_>], admins: &[&str], tls: bool) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("db");
        std::fs::create_dir(&db).expect("db dir");
        let conf = dir.path().join("slapd.conf");
        let mut text: String = SCHEMAS
            .iter()
            .map(|s| format!("include /etc/ldap/schema/{s}.schema\n"))
            .collect();
        text.push_str(&format!(
            "pidfile {pid}\nmodulepath /usr/lib/ldap\nmoduleload back_mdb\ndatabase mdb\nmaxsize 10485760\n\
             suffix \"{BASE}\"\nrootdn \"{ROOT_DN}\"\nrootpw {ROOT_PW}\ndirectory {db}\n",
            pid = dir.path().join("slapd.pid").display(),
            db = db.display()
        ));
        if tls {
            certificates(dir.path());
            for (key, file) in [
                ("TLSCACertificateFile", "ca.pem"),
                ("TLSCertificateFile", "server.pem"),
                ("TLSCertificateKeyFile", "server.key"),
            ] {
                text.push_str(&format!("{key} {}\n", dir.path().join(file).display()));
            }
        }
        std::fs::write(&conf, text).expect("write slapd.conf");

        let mut ldif = format!(
            "dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n\
             dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n\n\
             dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n\n"
        );
        for p in people {
            ldif.push_str(&person_ldif(p));
        }
        // groupOfNames needs at least one member: the root DN stands in.
        ldif.push_str(&format!(
            "dn: {ADMINS}\nobjectClass: groupOfNames\ncn: slipway-admins\nmember: {ROOT_DN}\n"
        ));
        for uid in admins {
            ldif.push_str(&format!("member: uid={uid},{PEOPLE}\n"));
        }
        let data = dir.path().join("data.ldif");
        std::fs::write(&data, ldif).expect("write LDIF");
        run("/usr/sbin/slapadd", &["-f", &path(&conf), "-l", &path(&data)], None);

        let port = free_port();
        let tls_port = tls.then(free_port);
        let mut listen = format!("ldap://127.0.0.1:{port}/");
        if let Some(p) = tls_port {
            listen.push_str(&format!(" ldaps://127.0.0.1:{p}/"));
        }
        let child = Command::new("/usr/sbin/slapd")
            .args(["-f", &path(&conf), "-h", &listen, "-d", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start slapd (bash scripts/ensure-deps.sh --test installs it)");
        let tls = tls_port.map(|p| (p, dir.path().join("ca.pem")));
        let slapd = Slapd {
            child,
            port,
            tls,
            _dir: dir,
        };
        for p in std::iter::once(port).chain(tls_port) {
            assert!(listening_within(p, Duration::from_secs(20)), "slapd listens on {p}");
        }
        slapd
    }

    /// `ldap://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// Applies an LDIF change (`ldapmodify` as the root DN).
    pub fn modify(&self, ldif: &str) {
        run(
            "ldapmodify",
            &["-x", "-H", &self.url(), "-D", ROOT_DN, "-w", ROOT_PW],
            Some(ldif),
        );
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A throwaway CA (`ca.pem`) and a certificate for `localhost` it signed
/// (`server.pem`, `server.key`) in `dir`.
fn certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl");
        assert!(status.success(), "openssl {args:?}");
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Slipway test directory CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write ext.cnf");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

fn run(program: &str, args: &[&str], stdin: Option<&str>) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {program}: {e} (bash scripts/ensure-deps.sh --test installs it)"));
    if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
        input.write_all(text.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{program} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
