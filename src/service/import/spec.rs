//! The import file's TOML shape: host groups, hosts and projects, each
//! value with its span so problems point at their line and column.

use serde::Deserialize;
use serde_spanned::Spanned;

use crate::deploy::DeploySettings;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ImportFile {
    #[serde(default)]
    pub(super) host_group: Vec<HostGroupSpec>,
    #[serde(default)]
    pub(super) project: Vec<ProjectSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HostGroupSpec {
    pub(super) name: Spanned<String>,
    /// The relay (`[user@]host:/path`) the group's releases go through.
    pub(super) relay: Option<Spanned<String>>,
    /// The hosts' ssh port as the relay reaches them.
    pub(super) relay_port: Option<u16>,
    /// A private key file on the relay for reaching the hosts.
    pub(super) relay_identity: Option<String>,
    /// A known_hosts file on the relay.
    pub(super) relay_known_hosts: Option<String>,
    #[serde(default)]
    pub(super) hosts: Vec<HostSpec>,
}

impl HostGroupSpec {
    /// The relay as an admin input (an empty target: none).
    pub(super) fn relay_input(&self) -> crate::service::host_admin::RelayInput {
        crate::service::host_admin::RelayInput {
            target: self.relay.as_ref().map(|r| r.get_ref().clone()).unwrap_or_default(),
            port: self.relay_port.map(|p| p.to_string()).unwrap_or_default(),
            identity: self.relay_identity.clone().unwrap_or_default(),
            known_hosts: self.relay_known_hosts.clone().unwrap_or_default(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HostSpec {
    pub(super) name: Spanned<String>,
    pub(super) target: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProjectSpec {
    pub(super) name: Spanned<String>,
    #[serde(default)]
    pub(super) description: String,
    pub(super) svn_url: Spanned<String>,
    pub(super) svn_credentials: Option<Spanned<String>>,
    pub(super) staging_dir: Spanned<String>,
    pub(super) staging_url: Option<Spanned<String>>,
    pub(super) build_command: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    pub(super) host_groups: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) excludes: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) leads: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) developers: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) testers: Vec<Spanned<String>>,
    pub(super) version_format: Option<Spanned<String>>,
    /// A tester must confirm files outside a ticket's SVN paths (issue 12).
    #[serde(default)]
    pub(super) require_outside_paths_confirmation: bool,
    /// IANA time zone (`Asia/Shanghai`).
    pub(super) time_zone: Option<Spanned<String>>,
    /// Deprecated fixed offset, used when `time_zone` is absent.
    pub(super) utc_offset_minutes: Option<Spanned<i32>>,
    #[serde(default)]
    pub(super) approval: ApprovalSpec,
    #[serde(default)]
    pub(super) freeze: Vec<FreezeSpec>,
    /// `[[project.maintenance]]`: weekly maintenance windows.
    #[serde(default)]
    pub(super) maintenance: Vec<MaintenanceSpec>,
    /// Users told about releases, failures and rollbacks (no role needed).
    #[serde(default)]
    pub(super) watchers: Vec<Spanned<String>>,
    /// Where each transition is posted.
    #[serde(default)]
    pub(super) webhooks: Vec<WebhookSpec>,
    /// Hours a ticket may wait for approval before its approvers are reminded (default 4).
    pub(super) reminder_hours: Option<Spanned<u32>>,
    /// `[project.deploy]`: mode, strategy, ssh, hooks, health… (stored as JSON).
    pub(super) deploy: Option<Spanned<DeploySettings>>,
    /// `[[project.services]]`: services per host group.
    #[serde(default)]
    pub(super) services: Vec<crate::deploy::ServiceSpec>,
    /// Who may start, stop and restart services: `leads` (default) or `developers`.
    #[serde(default)]
    pub(super) service_actions: Option<Spanned<String>>,
    /// When to verify the hosts (drift): six-field cron, UTC; absent: never.
    #[serde(default)]
    pub(super) verify_cron: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WebhookSpec {
    pub(super) url: Spanned<String>,
    #[serde(default)]
    pub(super) secret: String,
    pub(super) preset: Option<Spanned<String>>,
    /// Language of chat message texts: `en` (default) or `zh-CN`.
    pub(super) language: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ApprovalSpec {
    #[serde(default = "one")]
    pub(super) required: Spanned<u32>,
    #[serde(default)]
    pub(super) allow_self_approval: bool,
    #[serde(default = "yes")]
    pub(super) tested_by_may_approve: bool,
    pub(super) expiry_hours: Option<Spanned<u32>>,
}

impl Default for ApprovalSpec {
    fn default() -> Self {
        Self {
            required: one(),
            allow_self_approval: false,
            tested_by_may_approve: true,
            expiry_hours: None,
        }
    }
}

fn one() -> Spanned<u32> {
    Spanned::new(0..0, 1)
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FreezeSpec {
    pub(super) weekly: Option<WeeklySpec>,
    pub(super) from: Option<Spanned<String>>,
    pub(super) to: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) label: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WeeklySpec {
    pub(super) from: Spanned<String>,
    pub(super) to: Spanned<String>,
}

/// `[[project.maintenance]]`: `from = "Thu 06:00"`, `to = "Thu 08:00"`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MaintenanceSpec {
    pub(super) from: Spanned<String>,
    pub(super) to: Spanned<String>,
    #[serde(default)]
    pub(super) label: String,
}
