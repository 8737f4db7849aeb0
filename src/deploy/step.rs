//! The named steps of a host's release pipeline (`super::pipeline`). Their
//! names are stored with each host's timings and shown on the ticket page,
//! translated there by name (`step."read live"` in `locales/`).

/// One step of a host's release pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Read which release is live and which are kept.
    ReadLive,
    /// Read what is live and switch in one round trip (rollback by switch).
    ReadLiveAndSwitch,
    /// Prepare the upload's directory (a copy of the live release).
    PrepareDir,
    /// Send the files.
    Upload,
    /// Clone, send the changed files, move into place, switch (and prune)
    /// in one ssh session (`super::one_trip`).
    UploadAndSwitch,
    /// Compare the sent tree with the source.
    Verify,
    /// Move the finished upload to its release directory.
    MoveIntoPlace,
    /// Run the before-switch hooks.
    BeforeHooks,
    /// Point `current` at the release.
    Switch,
    /// Record the release in an inplace target's marker.
    Mark,
    /// Run the after-switch hooks.
    AfterHooks,
    /// Restart the services marked to restart after a release, and wait.
    RestartServices,
    /// The health check.
    Health,
    /// Remove old releases.
    Prune,
}

impl Step {
    /// Every step.
    pub const ALL: [Step; 14] = [
        Step::ReadLive,
        Step::ReadLiveAndSwitch,
        Step::PrepareDir,
        Step::Upload,
        Step::UploadAndSwitch,
        Step::Verify,
        Step::MoveIntoPlace,
        Step::BeforeHooks,
        Step::Switch,
        Step::Mark,
        Step::AfterHooks,
        Step::RestartServices,
        Step::Health,
        Step::Prune,
    ];

    /// The stored name (also the API's `hosts[].steps[].step`).
    pub fn name(self) -> &'static str {
        match self {
            Step::ReadLive => "read live",
            Step::ReadLiveAndSwitch => "read live + switch",
            Step::PrepareDir => "prepare dir",
            Step::Upload => "upload",
            Step::UploadAndSwitch => "upload + switch",
            Step::Verify => "verify",
            Step::MoveIntoPlace => "move into place",
            Step::BeforeHooks => "before hooks",
            Step::Switch => "switch",
            Step::Mark => "mark",
            Step::AfterHooks => "after hooks",
            Step::RestartServices => "restart services",
            Step::Health => "health",
            Step::Prune => "prune",
        }
    }
}
