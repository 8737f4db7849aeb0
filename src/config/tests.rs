//! Tests of configuration loading.
use super::*;

/// An environment provider reading only `prefix`-ed variables, so
/// parallel tests do not see each other.
fn env(prefix: &str, vars: &[(&str, &str)]) -> Env {
    for (key, value) in vars {
        std::env::set_var(format!("{prefix}{key}"), value);
    }
    Env::prefixed(prefix)
}

#[test]
fn defaults_load_and_document_every_key() {
    let config = Config::load_from(None, env("SLIPWAY_T0_", &[])).expect("defaults load");
    assert_eq!(config.server.bind.to_string(), "127.0.0.1:8080");
    assert!(config.database.url.is_none(), "SQLite by default");
    assert_eq!(config.public_url(), "http://127.0.0.1:8080/");
    assert_eq!(config.log.format, LogFormat::Plain);
}

#[test]
fn environment_overrides_and_ignores_unrelated_variables() {
    let vars = [
        ("DATABASE__URL", "postgres://u:pw@h/db"),
        ("WORKER__CONCURRENCY", "7"),
        ("DATA_DIR", "/srv/slipway"),
        ("TEST_REQUIRE_PG", "1"),
    ];
    let config = Config::load_from(None, env("SLIPWAY_T1_", &vars)).expect("loads");
    assert_eq!(config.worker.concurrency, 7);
    assert_eq!(config.data_dir, PathBuf::from("/srv/slipway"));
    assert_eq!(
        config.database.url.as_ref().map(Secret::expose),
        Some("postgres://u:pw@h/db")
    );
    assert!(
        !format!("{config:?}").contains("pw@"),
        "secrets stay out of Debug output"
    );
}

#[test]
fn errors_name_the_key() {
    let error =
        Config::load_from(None, env("SLIPWAY_T2_", &[("SERVER__HTTP_WORKERS", "many")])).expect_err("bad number");
    assert!(
        error.to_string().to_lowercase().contains("server.http_workers"),
        "{error}"
    );
    let error = Config::load_from(None, env("SLIPWAY_T3_", &[("LOG__FORMAT", "xml")])).expect_err("bad enum");
    assert!(error.to_string().to_lowercase().contains("log.format"), "{error}");
    let error = Config::load_from(None, env("SLIPWAY_T4_", &[("SERVER__PUBLIC_URL", "ftp://x")])).expect_err("url");
    assert!(error.to_string().contains("server.public_url"), "{error}");
}

#[test]
fn file_layer_sits_between_defaults_and_environment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("local.toml");
    std::fs::write(&path, "[worker]\nconcurrency = 3\nlease_secs = 30\n").expect("write");
    let config = Config::load_from(Some(&path), env("SLIPWAY_T5_", &[("WORKER__LEASE_SECS", "90")])).expect("loads");
    assert_eq!((config.worker.concurrency, config.worker.lease_secs), (3, 90));
    std::fs::write(&path, "[worker]\nconcurency = 3\n").expect("write");
    let error = Config::load_from(Some(&path), env("SLIPWAY_T6_", &[])).expect_err("typo");
    assert!(error.to_string().contains("concurency"), "{error}");
}

#[test]
fn smtp_settings() {
    let config = Config::load_from(None, env("SLIPWAY_T10_", &[])).expect("defaults load");
    assert!(!config.smtp.enabled, "mail goes to files by default");
    assert_eq!(config.notify.approval_link_hours, 72);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("smtp");
    std::fs::write(&path, "s3cret\n").expect("write");
    let file = path.display().to_string();
    let vars = [
        ("SMTP__ENABLED", "true"),
        ("SMTP__HOST", "mail.example.com"),
        ("SMTP__PASSWORD_FILE", file.as_str()),
    ];
    let config = Config::load_from(None, env("SLIPWAY_T11_", &vars)).expect("loads");
    assert_eq!(config.smtp.password.as_ref().map(Secret::expose), Some("s3cret"));
    assert!(
        !format!("{config:?}").contains("s3cret"),
        "secrets stay out of Debug output"
    );
    let error = Config::load_from(None, env("SLIPWAY_T12_", &[("SMTP__ENABLED", "true")])).expect_err("no host");
    assert!(error.to_string().contains("smtp.host"), "{error}");
    let error = Config::load_from(None, env("SLIPWAY_T13_", &[("SMTP__FROM", "not an address")])).expect_err("from");
    assert!(error.to_string().contains("smtp.from"), "{error}");
}

#[test]
fn secret_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("jwt");
    std::fs::write(&path, "k3y\n").expect("write");
    let file = path.display().to_string();
    let config = Config::load_from(None, env("SLIPWAY_T7_", &[("AUTH__JWT_SECRET_FILE", &file)])).expect("loads");
    assert_eq!(config.auth.jwt_secret.as_ref().map(Secret::expose), Some("k3y"));
    let both = [("AUTH__JWT_SECRET_FILE", file.as_str()), ("AUTH__JWT_SECRET", "x")];
    assert!(Config::load_from(None, env("SLIPWAY_T8_", &both)).is_err());
    let missing = [("AUTH__JWT_SECRET_FILE", "/nonexistent/jwt")];
    let error = Config::load_from(None, env("SLIPWAY_T9_", &missing)).expect_err("missing file");
    assert!(error.to_string().contains("auth.jwt_secret_file"), "{error}");
}

#[test]
fn ldap_section_reads_its_password_from_a_file_and_checks_its_keys() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secret = dir.path().join("ldap");
    std::fs::write(&secret, "s3cret\n").expect("write");
    let secret = secret.display().to_string();
    let vars = [
        ("AUTH__LDAP__URL", "ldap://127.0.0.1:389"),
        ("AUTH__LDAP__BIND_DN", "cn=svc,dc=example,dc=com"),
        ("AUTH__LDAP__BIND_PASSWORD_FILE", secret.as_str()),
        ("AUTH__LDAP__USER_BASE", "ou=people,dc=example,dc=com"),
    ];
    let config = Config::load_from(None, env("SLIPWAY_TL1_", &vars)).expect("loads");
    let ldap = config.auth.ldap.expect("[auth.ldap]");
    assert_eq!(ldap.bind_password.as_ref().map(Secret::expose), Some("s3cret"));
    assert_eq!(ldap.user_filter, "(uid={username})");
    assert!(!format!("{ldap:?}").contains("s3cret"));

    let bad = [
        ("AUTH__LDAP__URL", "http://dc1"),
        ("AUTH__LDAP__USER_BASE", "ou=people,dc=example,dc=com"),
    ];
    let error = Config::load_from(None, env("SLIPWAY_TL2_", &bad)).expect_err("not ldap://");
    assert!(error.to_string().contains("auth.ldap.url"), "{error}");
    let bad = [
        ("AUTH__LDAP__URL", "ldap://dc1"),
        ("AUTH__LDAP__USER_BASE", "ou=people,dc=example,dc=com"),
        ("AUTH__LDAP__USER_FILTER", "(uid=alice)"),
    ];
    let error = Config::load_from(None, env("SLIPWAY_TL3_", &bad)).expect_err("no {username}");
    assert!(error.to_string().contains("auth.ldap.user_filter"), "{error}");
}
