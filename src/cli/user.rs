//! `slipway user add|list|set-password|disable`.

use std::io::{BufRead, IsTerminal};

use clap::Subcommand;

use crate::service::users::{self, NewAccount};
use crate::store::Pool;

use super::Failure;

/// User subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account (the password is prompted for, or read from stdin).
    Add {
        /// Login name.
        username: String,
        /// Email address for notifications.
        #[arg(long, default_value = "")]
        email: String,
        /// Name shown on pages.
        #[arg(long, default_value = "")]
        name: String,
        /// Make the user an admin.
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List,
    /// Set a new password.
    SetPassword {
        /// Login name.
        username: String,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an account (it can no longer sign in or act).
    Disable {
        /// Login name.
        username: String,
    },
}

fn read_password(from_stdin: bool) -> Result<String, Failure> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(Failure::op)?;
        return Ok(line.trim_end_matches(['\n', '\r']).to_owned());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::usage(
            "no terminal to prompt for the password; pass --password-stdin",
        ));
    }
    let first = rpassword::prompt_password("Password: ").map_err(Failure::op)?;
    let second = rpassword::prompt_password("Again: ").map_err(Failure::op)?;
    if first != second {
        return Err(Failure::op("the passwords differ"));
    }
    Ok(first)
}

/// Runs a user subcommand.
pub fn run(pool: &Pool, command: UserCommand) -> Result<(), Failure> {
    let mut conn = pool.get().map_err(Failure::op)?;
    match command {
        UserCommand::Add {
            username,
            email,
            name,
            admin,
            password_stdin,
        } => {
            let password = read_password(password_stdin)?;
            let account = NewAccount {
                username: &username,
                display_name: &name,
                email: &email,
                password: &password,
                is_admin: admin,
            };
            users::add(&mut conn, &account).map_err(Failure::op)?;
            println!("added user {username}{}", if admin { " (admin)" } else { "" });
        }
        UserCommand::List => {
            println!("{:<24} {:<28} {:<32} flags", "username", "name", "email");
            for user in crate::store::users::list(&mut conn).map_err(Failure::op)? {
                let flags = [(user.is_admin, "admin"), (user.disabled, "disabled")]
                    .iter()
                    .filter(|(on, _)| *on)
                    .map(|(_, f)| *f)
                    .collect::<Vec<_>>()
                    .join(",");
                println!(
                    "{:<24} {:<28} {:<32} {flags}",
                    user.username, user.display_name, user.email
                );
            }
        }
        UserCommand::SetPassword {
            username,
            password_stdin,
        } => {
            let password = read_password(password_stdin)?;
            users::set_password(&mut conn, &username, &password).map_err(Failure::op)?;
            println!("password of {username} changed");
        }
        UserCommand::Disable { username } => {
            users::disable(&mut conn, &username).map_err(Failure::op)?;
            println!("disabled {username}");
        }
    }
    Ok(())
}
