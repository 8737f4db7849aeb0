//! `slipway project import FILE` and `slipway project list`.

use std::path::PathBuf;

use clap::Subcommand;

use crate::service::import::{self, ImportError};
use crate::store::{projects, Pool};

use super::Failure;

/// Project subcommands.
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Add host groups and projects from a TOML file (all or nothing).
    Import {
        /// The file (see README "Project import").
        file: PathBuf,
    },
    /// List projects.
    List,
}

/// Runs a project subcommand.
pub fn run(pool: &Pool, command: ProjectCommand) -> Result<(), Failure> {
    let mut conn = pool.get().map_err(Failure::op)?;
    match command {
        ProjectCommand::Import { file } => {
            let source = std::fs::read_to_string(&file).map_err(|e| Failure::op(format!("{}: {e}", file.display())))?;
            match import::import(&mut conn, &source) {
                Ok(summary) => println!(
                    "imported {} project(s), {} host group(s), {} host(s)",
                    summary.projects, summary.host_groups, summary.hosts
                ),
                Err(ImportError::Problems(problems)) => {
                    let lines: Vec<String> = problems.iter().map(|p| format!("{}:{p}", file.display())).collect();
                    return Err(Failure::op(format!("nothing imported:\n{}", lines.join("\n"))));
                }
                Err(other) => return Err(Failure::op(other)),
            }
        }
        ProjectCommand::List => {
            println!("{:<24} {:<10} {:<10} svn_url", "name", "approvals", "prod");
            for project in projects::list(&mut conn).map_err(Failure::op)? {
                let prod = project.production_version.map_or("-".to_owned(), |v| v.to_string());
                println!(
                    "{:<24} {:<10} {:<10} {}",
                    project.name, project.approvals_required, prod, project.svn_url
                );
            }
        }
    }
    Ok(())
}
