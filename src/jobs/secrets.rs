//! Filling the process-wide list of known secrets that
//! [`mod@crate::process::scrub`] removes from every child's output and from
//! failure text (invariant 7, see docs/design.md#invariants): the configuration's secrets at
//! start-up, the webhooks' (kept in the database) at start-up and before
//! each job, so a webhook added on another instance is known too.

use crate::config::Config;
use crate::process::scrub;
use crate::store::{subscriptions, DbConn, Pool};

/// Registers every secret of `config`: the SVN passwords, the SMTP password,
/// the database URL (whole, and its password),
/// and the signing key (configured, or the one in `<data_dir>/jwt.key`).
pub fn register_config(config: &Config, signing_key: Option<&[u8]>) {
    for credential in config.svn.credentials.values() {
        if let Some(password) = &credential.password {
            scrub::register(password.expose());
        }
    }
    if let Some(password) = &config.smtp.password {
        scrub::register(password.expose());
    }
    if let Some(url) = &config.database.url {
        scrub::register_url(url.expose());
    }
    if let Some(secret) = &config.auth.jwt_secret {
        scrub::register(secret.expose().trim());
    }
    if let Some(key) = signing_key {
        scrub::register(&String::from_utf8_lossy(key));
    }
}

/// Registers every webhook's secret and URL.
pub fn register_webhooks(conn: &mut DbConn) -> Result<(), crate::store::StoreError> {
    for (url, secret) in subscriptions::all_webhook_secrets(conn)? {
        scrub::register_url(&url);
        scrub::register(&secret);
    }
    Ok(())
}

/// [`register_webhooks`] with a pooled connection, returned at once; a
/// failure is logged (the secrets registered so far stay).
pub fn refresh(pool: &Pool) {
    let result = pool
        .get()
        .map_err(|e| e.to_string())
        .and_then(|mut conn| register_webhooks(&mut conn).map_err(|e| e.to_string()));
    if let Err(error) = result {
        tracing::warn!(%error, "cannot load the webhook secrets to scrub");
    }
}
