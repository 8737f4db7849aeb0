//! A project's services, declared per host group: how Slipway asks a host
//! for a service's state and starts, stops, restarts it or reads its log.
//!
//! Two managers: `supervisor` (`supervisorctl status|start|stop|restart|tail
//! NAME`, with an optional prefix such as `["supervisorctl", "-c",
//! "/etc/app/supervisord.conf"]`) and `custom` (one argument-vector
//! template per action, e.g. for `systemctl` or a game server's scripts,
//! where the words `{name}` and `{lines}` are replaced). Every command is an
//! argument vector; over ssh each word is quoted by [`super::quote`], so a
//! name or argument never reaches a shell as anything but one literal word.

use serde::{Deserialize, Serialize};

/// Longest service name.
pub const MAX_NAME: usize = 100;
/// Most services a project may declare.
pub const MAX_SERVICES: usize = 200;
/// Most log lines one request may ask for.
pub const MAX_LOG_LINES: usize = 1000;
/// Longest wait for a service to report RUNNING after a release, in seconds.
pub const MAX_WAIT_SECS: u32 = 3600;

/// Which program manages a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Manager {
    /// supervisord, through `supervisorctl`.
    #[default]
    Supervisor,
    /// Argument-vector templates per action.
    Custom,
}

/// What to do to a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServiceAction {
    /// Start it.
    Start,
    /// Stop it.
    Stop,
    /// Restart it.
    Restart,
}

impl ServiceAction {
    /// `start`, `stop` or `restart`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceAction::Start => "start",
            ServiceAction::Stop => "stop",
            ServiceAction::Restart => "restart",
        }
    }

    /// The action named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "start" => Some(ServiceAction::Start),
            "stop" => Some(ServiceAction::Stop),
            "restart" => Some(ServiceAction::Restart),
            _ => None,
        }
    }
}

/// The argument-vector templates of a `custom` manager (`{name}`: the
/// service's name, `{lines}`: how many log lines). `status` exits 0 when the
/// service runs; its first output line, when shaped like supervisorctl's
/// (`NAME STATE pid N, uptime H:MM:SS`), gives state, pid and uptime.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CustomCommands {
    /// e.g. `["systemctl", "is-active", "{name}"]`.
    pub status: Vec<String>,
    /// e.g. `["sudo", "systemctl", "start", "{name}"]`.
    pub start: Vec<String>,
    /// e.g. `["sudo", "systemctl", "stop", "{name}"]`.
    pub stop: Vec<String>,
    /// e.g. `["sudo", "systemctl", "restart", "{name}"]`.
    pub restart: Vec<String>,
    /// e.g. `["journalctl", "-u", "{name}", "-n", "{lines}", "--no-pager"]` (optional).
    pub log: Vec<String>,
}

/// One service of a project on the hosts of one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// The name the manager knows it by: letters, digits, `_.:@-`, not
    /// starting with `-` (supervisor's `group:name` works).
    pub name: String,
    /// The host group whose hosts run it.
    pub group: String,
    /// `supervisor` (default) or `custom`.
    #[serde(default)]
    pub manager: Manager,
    /// supervisor: the `supervisorctl` command to use (default `["supervisorctl"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supervisorctl: Vec<String>,
    /// custom: the command templates.
    #[serde(default, skip_serializing_if = "is_default")]
    pub commands: CustomCommands,
    /// A release restarts it on each host after the switch and waits until
    /// it reports RUNNING (FATAL or the timeout fails the host).
    #[serde(default)]
    pub restart_after_release: bool,
    /// Seconds to wait for RUNNING after a release's restart (default 30).
    #[serde(default = "default_wait")]
    pub wait_secs: u32,
}

fn is_default(c: &CustomCommands) -> bool {
    *c == CustomCommands::default()
}

fn default_wait() -> u32 {
    30
}

/// Who may start, stop and restart a project's services (admins always may).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServiceAccess {
    /// The project's leads (default).
    #[default]
    Leads,
    /// Leads and developers.
    Developers,
}

impl ServiceAccess {
    /// `leads` or `developers`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceAccess::Leads => "leads",
            ServiceAccess::Developers => "developers",
        }
    }

    /// The setting named `s` (empty: the default).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "" | "leads" => Some(ServiceAccess::Leads),
            "developers" => Some(ServiceAccess::Developers),
            _ => None,
        }
    }
}

/// Whether `name` is a safe service name (see [`ServiceSpec::name`]).
pub fn valid_service_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.starts_with('-')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.:@-".contains(c))
}

fn argv_ok(argv: &[String]) -> bool {
    argv.first()
        .is_some_and(|p| !p.is_empty() && !p.starts_with('-') && !p.contains('='))
        && argv.iter().all(|a| !a.contains('\0') && a.len() <= 4000)
        && argv.len() <= 100
}

impl ServiceSpec {
    /// Checks the name, the group name's shape, the wait and the commands;
    /// the message names what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if !valid_service_name(&self.name) {
            return Err(format!(
                "service name `{}` must be letters, digits and `_.:@-` (not starting with `-`, at most {MAX_NAME})",
                self.name.escape_debug()
            ));
        }
        if self.group.trim().is_empty() || self.group.len() > 100 {
            return Err(format!("service `{}` needs the name of a host group", self.name));
        }
        if !(1..=MAX_WAIT_SECS).contains(&self.wait_secs) {
            return Err(format!(
                "service `{}`: wait_secs must be between 1 and {MAX_WAIT_SECS}",
                self.name
            ));
        }
        match self.manager {
            Manager::Supervisor => {
                if !self.supervisorctl.is_empty() && !argv_ok(&self.supervisorctl) {
                    return Err(format!(
                        "service `{}`: supervisorctl must be an argument vector whose program does not start with `-`",
                        self.name
                    ));
                }
                if !is_default(&self.commands) {
                    return Err(format!(
                        "service `{}`: commands are for manager = \"custom\"",
                        self.name
                    ));
                }
            }
            Manager::Custom => {
                let c = &self.commands;
                for (what, argv) in [
                    ("status", &c.status),
                    ("start", &c.start),
                    ("stop", &c.stop),
                    ("restart", &c.restart),
                ] {
                    if !argv_ok(argv) {
                        return Err(format!(
                            "service `{}`: commands.{what} must be a non-empty argument vector whose program does not start with `-`",
                            self.name
                        ));
                    }
                }
                if !c.log.is_empty() && !argv_ok(&c.log) {
                    return Err(format!(
                        "service `{}`: commands.log must be an argument vector whose program does not start with `-`",
                        self.name
                    ));
                }
            }
        }
        Ok(())
    }

    /// The `supervisorctl` words (default `["supervisorctl"]`).
    fn ctl(&self) -> Vec<String> {
        if self.supervisorctl.is_empty() {
            vec!["supervisorctl".to_owned()]
        } else {
            self.supervisorctl.clone()
        }
    }

    fn fill(&self, template: &[String], lines: usize) -> Vec<String> {
        template
            .iter()
            .map(|w| w.replace("{name}", &self.name).replace("{lines}", &lines.to_string()))
            .collect()
    }

    /// The argument vector asking for the service's state.
    pub fn status_argv(&self) -> Vec<String> {
        match self.manager {
            Manager::Supervisor => [self.ctl(), vec!["status".into(), self.name.clone()]].concat(),
            Manager::Custom => self.fill(&self.commands.status, 0),
        }
    }

    /// The argument vector doing `action`.
    pub fn action_argv(&self, action: ServiceAction) -> Vec<String> {
        match self.manager {
            Manager::Supervisor => [self.ctl(), vec![action.as_str().into(), self.name.clone()]].concat(),
            Manager::Custom => {
                let c = &self.commands;
                let t = match action {
                    ServiceAction::Start => &c.start,
                    ServiceAction::Stop => &c.stop,
                    ServiceAction::Restart => &c.restart,
                };
                self.fill(t, 0)
            }
        }
    }

    /// The argument vector printing the end of the service's log (`None`:
    /// a custom manager without a log command). supervisorctl's `tail`
    /// counts bytes: it asks for 200 bytes a line, and the caller keeps the
    /// last `lines`.
    pub fn log_argv(&self, lines: usize) -> Option<Vec<String>> {
        let lines = lines.clamp(1, MAX_LOG_LINES);
        match self.manager {
            Manager::Supervisor => Some(
                [
                    self.ctl(),
                    vec!["tail".into(), format!("-{}", lines * 200), self.name.clone()],
                ]
                .concat(),
            ),
            Manager::Custom if self.commands.log.is_empty() => None,
            Manager::Custom => Some(self.fill(&self.commands.log, lines)),
        }
    }
}

/// Parses the JSON list stored in `projects.services` (empty: none) and
/// validates each entry.
pub fn parse_list(json: &str) -> Result<Vec<ServiceSpec>, String> {
    let json = if json.trim().is_empty() { "[]" } else { json };
    let list: Vec<ServiceSpec> = serde_json::from_str(json).map_err(|e| format!("services: {e}"))?;
    list.iter().try_for_each(ServiceSpec::validate)?;
    Ok(list)
}

/// The services a release restarts on each host: those marked
/// `restart_after_release` of the host's group. `hosts` gives (group, host) names.
pub fn restarts<'a>(
    services: &[ServiceSpec],
    hosts: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> std::collections::BTreeMap<String, Vec<ServiceSpec>> {
    let mut out = std::collections::BTreeMap::new();
    for (group, host) in hosts {
        let list: Vec<ServiceSpec> = services
            .iter()
            .filter(|s| s.restart_after_release && s.group == group)
            .cloned()
            .collect();
        if !list.is_empty() {
            out.insert(host.to_owned(), list);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> ServiceSpec {
        serde_json::from_str(json).expect("parses")
    }

    #[test]
    fn supervisor_commands_keep_the_name_one_word() {
        let s = spec(r#"{"name":"app","group":"web","supervisorctl":["supervisorctl","-c","/x/s.conf"]}"#);
        assert!(s.validate().is_ok());
        assert_eq!(s.status_argv(), ["supervisorctl", "-c", "/x/s.conf", "status", "app"]);
        assert_eq!(s.action_argv(ServiceAction::Restart)[3..], ["restart", "app"]);
        assert_eq!(s.log_argv(5).expect("log")[3..], ["tail", "-1000", "app"]);
        assert_eq!(s.wait_secs, 30);
    }

    #[test]
    fn custom_templates_fill_words_not_shell() {
        let s = spec(
            r#"{"name":"game","group":"g","manager":"custom","commands":{"status":["check","{name}"],
               "start":["s","{name}"],"stop":["t","{name}"],"restart":["r","$(id) {name}"],"log":["tail","-n","{lines}","/l/{name}.log"]}}"#,
        );
        assert!(s.validate().is_ok());
        assert_eq!(s.action_argv(ServiceAction::Restart), ["r", "$(id) game"]);
        assert_eq!(s.log_argv(7).expect("log"), ["tail", "-n", "7", "/l/game.log"]);
    }

    #[test]
    fn refuses_hostile_names_and_bad_commands() {
        for name in ["", "-rf", "a b", "a;b", "$(id)", "a'b", "a\nb", "a/b"] {
            let s = ServiceSpec {
                name: name.into(),
                ..spec(r#"{"name":"x","group":"web"}"#)
            };
            assert!(s.validate().is_err(), "{name:?} accepted");
        }
        assert!(spec(r#"{"name":"x","group":"web","manager":"custom"}"#)
            .validate()
            .is_err());
        assert!(spec(r#"{"name":"x","group":"web","wait_secs":0}"#).validate().is_err());
        assert!(spec(r#"{"name":"x","group":"web","supervisorctl":["-x"]}"#)
            .validate()
            .is_err());
        assert!(serde_json::from_str::<ServiceSpec>(r#"{"name":"x","group":"w","nope":1}"#).is_err());
    }
}
