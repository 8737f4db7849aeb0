//! The command line: `slipway serve|worker|migrate|user|project`.
//! Exit codes: 0 ok, 1 the operation failed, 2 bad configuration or usage.
//! See docs/design.md#layers.

mod project;
mod serve;
mod user;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::config::{Config, LogFormat};
use crate::store::{self, DbLocation, Pool, PoolOptions};

/// Slipway: release-approval ticketing from SVN to production.
#[derive(Debug, Parser)]
#[command(name = "slipway", version, about)]
pub struct Cli {
    /// A TOML config file layered over the defaults (see config/default.toml).
    #[arg(long, global = true, env = "SLIPWAY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (migrates the database first).
    Serve,
    /// Run a job worker against the same database.
    Worker,
    /// Apply pending database migrations.
    Migrate {
        /// Revert every migration instead (drops all of Slipway's tables).
        #[arg(long)]
        revert_all: bool,
    },
    /// Manage user accounts.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Manage projects.
    #[command(subcommand)]
    Project(project::ProjectCommand),
    /// Compare each host's live tree with the release recorded on it (drift).
    Verify {
        /// The project.
        project: String,
        /// Only this host.
        #[arg(long)]
        host: Option<String>,
    },
}

/// A failure with the exit code it deserves.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    /// Exit 1: the operation failed.
    pub fn op(message: impl std::fmt::Display) -> Self {
        Self {
            code: 1,
            message: message.to_string(),
        }
    }

    /// Exit 2: bad configuration or usage.
    pub fn usage(message: impl std::fmt::Display) -> Self {
        Self {
            code: 2,
            message: message.to_string(),
        }
    }
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("slipway: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let config = Config::load(cli.config.as_deref()).map_err(Failure::usage)?;
    init_logging(&config);
    match cli.command {
        Command::Serve => serve::serve(&config),
        Command::Worker => serve::worker_only(&config),
        Command::Migrate { revert_all } => migrate(&config, revert_all),
        Command::User(command) => user::run(&open_db(&config)?, command),
        Command::Project(command) => project::run(&open_db(&config)?, command),
        Command::Verify { project, host } => verify::run(&config, &project, host.as_deref()),
    }
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log.format {
        LogFormat::Plain => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Opens the pool and applies pending migrations.
pub fn open_db(config: &Config) -> Result<Pool, Failure> {
    let pool = connect(config)?;
    let mut conn = pool.get().map_err(Failure::op)?;
    let applied = store::migrate::run_pending(&mut conn).map_err(Failure::op)?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "database migrated");
    }
    Ok(pool)
}

fn connect(config: &Config) -> Result<Pool, Failure> {
    let url = config.database.url.as_ref().map(|s| s.expose().to_owned());
    let location = DbLocation::parse(url.as_deref(), &config.data_dir).map_err(Failure::usage)?;
    let options = PoolOptions {
        max_size: config.database.pool_size,
        connect_timeout: Duration::from_secs(config.database.connect_timeout_secs),
        busy_timeout: Duration::from_millis(config.database.busy_timeout_ms),
    };
    tracing::debug!(database = %location.redacted(), "connecting");
    store::connect(&location, &options).map_err(|e| Failure::op(format!("{} ({})", e, location.redacted())))
}

fn migrate(config: &Config, revert_all: bool) -> Result<(), Failure> {
    let pool = connect(config)?;
    let mut conn = pool.get().map_err(Failure::op)?;
    if revert_all {
        while store::migrate::known_versions(&conn).map_err(Failure::op)?.len()
            > store::migrate::pending_count(&mut conn).map_err(Failure::op)?
        {
            let version = store::migrate::revert_last(&mut conn).map_err(Failure::op)?;
            println!("reverted {version}");
        }
        return Ok(());
    }
    let applied = store::migrate::run_pending(&mut conn).map_err(Failure::op)?;
    if applied.is_empty() {
        println!("database is up to date");
    }
    for version in applied {
        println!("applied {version}");
    }
    Ok(())
}
