//! The admin's "Test connection" of one host: its ssh host keys with
//! fingerprints and whether Slipway trusts them, trusting a new key (written
//! to the known_hosts file releases use, and audited), and a reachability
//! check with the options a release would use.
//!
//! Reading the host is a database call ([`plan`]); the probes run without a
//! connection ([`run`], [`trust_key`]), since they wait on the network.

use std::path::{Path, PathBuf};

use crate::deploy::reach::{self, KeyStatus, Reach, ScannedKey};
use crate::deploy::{DeploySettings, Target};
use crate::store::{admin as store_admin, DbConn};

use super::error::codes as codes_error;
use super::error::{ServiceError, ServiceResult};
use super::host_admin::{actions, audit};

pub use crate::deploy::reach::known_hosts_file;

/// Why a key was not trusted.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// Refused: the key is gone or another one is trusted.
    #[error(transparent)]
    Refused(#[from] ServiceError),
    /// The known_hosts file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A host to test, with the deploy settings a release to it would use.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Host id.
    pub id: i64,
    /// Its group.
    pub group: String,
    /// Its name.
    pub name: String,
    /// The target as stored.
    pub target: String,
    /// The project whose deploy settings apply (the first, by name, shipping
    /// to the group); `None`: the defaults.
    pub settings_from: Option<String>,
    /// Those settings.
    pub settings: DeploySettings,
}

/// What a test found.
#[derive(Debug, Clone)]
pub struct HostCheck {
    /// The host.
    pub plan: Plan,
    /// `ssh`, `rsync` or `local`.
    pub kind: &'static str,
    /// The host keys (ssh targets).
    pub keys: Vec<ScannedKey>,
    /// Why no key was scanned (ssh targets).
    pub scan_error: Option<String>,
    /// The login, listing or directory check.
    pub reach: Option<Reach>,
    /// The target does not parse.
    pub target_error: Option<String>,
}

/// Reads host `id` and the deploy settings that apply to it.
pub fn plan(conn: &mut DbConn, id: i64) -> ServiceResult<Plan> {
    let (group, host) = store_admin::host_with_group(conn, id)?.ok_or_else(|| ServiceError::not_found("host", id))?;
    let mut settings_from = None;
    let mut settings = DeploySettings::default();
    for (project, json) in store_admin::projects_of_group(conn, host.group_id)? {
        if let Ok(s) = DeploySettings::from_json(&json) {
            settings_from = Some(project);
            settings = s;
            break;
        }
    }
    Ok(Plan {
        id,
        group,
        name: host.name,
        target: host.target,
        settings_from,
        settings,
    })
}

fn ssh_login(user: &Option<String>, host: &str) -> String {
    match user {
        Some(u) => format!("{u}@{host}"),
        None => host.to_owned(),
    }
}

/// Scans the host's keys and tries to reach it (blocking: network).
pub fn run(plan: Plan, known_hosts: &Path) -> HostCheck {
    let mut check = HostCheck {
        plan,
        kind: "local",
        keys: Vec::new(),
        scan_error: None,
        reach: None,
        target_error: None,
    };
    let target = match Target::parse(&check.plan.target) {
        Ok(t) => t,
        Err(e) => {
            check.target_error = Some(e.to_string());
            return check;
        }
    };
    let s = &check.plan.settings;
    match &target {
        Target::Ssh { user, host, .. } => {
            check.kind = "ssh";
            match reach::scan(host, s.ssh.port, known_hosts, s.ssh.connect_timeout_secs) {
                Ok(keys) => check.keys = keys,
                Err(e) => check.scan_error = Some(e),
            }
            check.reach = Some(reach::ssh_login(&ssh_login(user, host), &s.ssh, known_hosts));
        }
        Target::Daemon { .. } => {
            check.kind = "rsync";
            let url = target.rsync_dest("");
            check.reach = Some(reach::rsync_list(
                &url,
                s.rsync_password_file.as_deref(),
                s.ssh.connect_timeout_secs,
            ));
        }
        Target::Local { path } => check.reach = Some(reach::local_dir(path)),
    }
    check
}

/// Rescans the host and adds its key with `fingerprint` to `known_hosts`
/// (blocking: network). Returns the key and whether it was added (false:
/// trusted already). Refused when the host no longer offers that key, or
/// when Slipway trusts another key of its type for the host.
pub fn trust_key(plan: &Plan, known_hosts: &Path, fingerprint: &str) -> Result<(ScannedKey, bool), TrustError> {
    let Ok(Target::Ssh { host, .. }) = Target::parse(&plan.target) else {
        return Err(ServiceError::Conflict(codes_error::NOT_SSH, "only ssh targets have host keys".into()).into());
    };
    let ssh = &plan.settings.ssh;
    let keys = reach::scan(&host, ssh.port, known_hosts, ssh.connect_timeout_secs).unwrap_or_default();
    let key = keys
        .into_iter()
        .find(|k| k.fingerprint == fingerprint.trim())
        .ok_or_else(|| {
            ServiceError::Conflict(
                codes_error::HOST_KEY_GONE,
                format!(
                    "{host} does not offer a key with fingerprint {}",
                    fingerprint.escape_debug()
                ),
            )
        })?;
    match key.status {
        KeyStatus::Trusted => Ok((key, false)),
        KeyStatus::Changed => Err(ServiceError::Conflict(
            codes_error::HOST_KEY_CHANGED,
            format!("Slipway trusts a different {} key for {host}", key.key_type),
        )
        .into()),
        KeyStatus::Unknown => {
            reach::trust(known_hosts, &key.line).map_err(|source| TrustError::Write {
                path: known_hosts.to_owned(),
                source,
            })?;
            Ok((key, true))
        }
    }
}

/// Records that an admin trusted `key` for the host of `plan`.
pub fn record_trust(conn: &mut DbConn, actor: i64, plan: &Plan, key: &ScannedKey) -> ServiceResult<()> {
    audit(
        conn,
        actor,
        actions::HOST_KEY_TRUST,
        &format!("{}/{}", plan.group, plan.name),
        &format!("{} {}", key.key_type, key.fingerprint),
    )
}
