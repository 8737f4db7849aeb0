//! The checks of a new release ticket's input (project name, reason, SVN
//! paths, revision), every problem at once: the new-ticket form shows each
//! beside its field, [`super::tickets::submit`] answers with the first.

use crate::domain::validate::codes;
use crate::domain::{InvalidInput, ProjectName, Reason, SvnPath};

use super::error::ServiceError;
use super::tickets::NewRelease;

/// The reason and the SVN paths (as stored, a JSON list) of a valid
/// `input`, or every problem found, at most one per field, in form order.
pub fn check(input: &NewRelease<'_>) -> Result<(Reason, String), Vec<InvalidInput>> {
    let mut problems = Vec::new();
    if let Err(e) = ProjectName::parse(input.project.trim()) {
        problems.push(if input.project.trim().is_empty() {
            InvalidInput::new("project", codes::CHOOSE_PROJECT, "choose a project")
        } else {
            e.on("project")
        });
    }
    let reason = Reason::parse("reason", input.reason).map_err(|e| problems.push(e)).ok();
    let paths = SvnPath::parse_list(input.svn_paths).map_err(|e| problems.push(e)).ok();
    if input.svn_revision.is_some_and(|r| r < 1) {
        problems.push(InvalidInput::new(
            "svn_revision",
            codes::REVISION,
            "must be a positive revision number",
        ));
    }
    match (reason, paths) {
        (Some(reason), Some(paths)) if problems.is_empty() => {
            let list: Vec<&str> = paths.iter().map(SvnPath::as_str).collect();
            let json = serde_json::to_string(&list)
                .map_err(|e| vec![InvalidInput::new("svn_paths", codes::INVALID, e.to_string())])?;
            Ok((reason, json))
        }
        _ => Err(problems),
    }
}

/// The first problem as the service's error (what the API answers).
pub fn first(problems: Vec<InvalidInput>) -> ServiceError {
    problems.into_iter().next().map_or_else(
        || InvalidInput::new("form", codes::INVALID, "invalid input").into(),
        ServiceError::from,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_field_at_once() {
        let paths = vec!["../etc".to_owned()];
        let input = NewRelease {
            project: "",
            reason: " ",
            svn_paths: &paths,
            svn_revision: Some(0),
        };
        let problems = check(&input).expect_err("refused");
        let fields: Vec<_> = problems.iter().map(|p| (p.field, p.code)).collect();
        assert_eq!(
            fields,
            [
                ("project", codes::CHOOSE_PROJECT),
                ("reason", codes::EMPTY),
                ("svn_paths", codes::SVN_PATH_DOTDOT),
                ("svn_revision", codes::REVISION)
            ]
        );
    }
}
