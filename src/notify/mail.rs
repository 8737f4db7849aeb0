//! Delivering mail: over SMTP (lettre; plain, STARTTLS or TLS with rustls)
//! when `[smtp] enabled`, else as `.eml`
//! files under `<data_dir>/mail/` (the demo, and a safe default: nothing is
//! lost). Both build the same multipart/alternative (text + HTML) message.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

use crate::config::{Config, SmtpSecurity};

use super::templates::Rendered;

/// Where mail goes.
#[derive(Clone)]
pub enum Mailer {
    /// An SMTP server.
    Smtp(SmtpTransport),
    /// Files in this directory.
    Files(PathBuf),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mailer::Smtp(_) => f.write_str("Mailer::Smtp"),
            Mailer::Files(dir) => write!(f, "Mailer::Files({})", dir.display()),
        }
    }
}

/// Why a message was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Try again later (server down, timeout, a 4xx reply, a full disk).
    #[error("{0}")]
    Transient(String),
    /// Trying again will not help (bad address, 5xx reply).
    #[error("{0}")]
    Permanent(String),
}

impl Mailer {
    /// The mailer `config` asks for. The password is handed to lettre and
    /// never logged.
    pub fn from_config(config: &Config) -> Result<Self, String> {
        let smtp = &config.smtp;
        if !smtp.enabled {
            return Ok(Mailer::Files(config.data_dir.join("mail")));
        }
        let host = smtp.host.trim();
        let tls = match smtp.security {
            SmtpSecurity::None => Tls::None,
            SmtpSecurity::Starttls => Tls::Required(tls_parameters(host, smtp.ca_file.as_deref())?),
            SmtpSecurity::Tls => Tls::Wrapper(tls_parameters(host, smtp.ca_file.as_deref())?),
        };
        let mut builder = SmtpTransport::builder_dangerous(host)
            .port(smtp.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(smtp.timeout_secs.max(1))));
        if !smtp.username.is_empty() {
            let password = smtp
                .password
                .as_ref()
                .map(|p| p.expose().to_owned())
                .unwrap_or_default();
            builder = builder.credentials(Credentials::new(smtp.username.clone(), password));
        }
        Ok(Mailer::Smtp(builder.build()))
    }

    /// Plain SMTP to `host:port` (tests, local relays).
    pub fn plain_smtp(host: &str, port: u16, timeout: Duration) -> Self {
        Mailer::Smtp(
            SmtpTransport::builder_dangerous(host)
                .port(port)
                .timeout(Some(timeout))
                .build(),
        )
    }

    /// SMTP to `host:port` secured as `security`, trusting `ca_file` too.
    pub fn smtp(
        host: &str,
        port: u16,
        security: SmtpSecurity,
        ca_file: Option<&Path>,
        timeout: Duration,
    ) -> Result<Self, String> {
        let tls = match security {
            SmtpSecurity::None => Tls::None,
            SmtpSecurity::Starttls => Tls::Required(tls_parameters(host, ca_file)?),
            SmtpSecurity::Tls => Tls::Wrapper(tls_parameters(host, ca_file)?),
        };
        Ok(Mailer::Smtp(
            SmtpTransport::builder_dangerous(host)
                .port(port)
                .tls(tls)
                .timeout(Some(timeout))
                .build(),
        ))
    }

    /// Sends `message`; for files, returns the path written.
    pub fn send(&self, message: &Message) -> Result<Option<PathBuf>, MailError> {
        match self {
            Mailer::Smtp(transport) => transport.send(message).map(|_| None).map_err(|e| {
                if e.is_permanent() {
                    MailError::Permanent(format!("SMTP refused the message: {e}"))
                } else {
                    MailError::Transient(format!("SMTP: {e}"))
                }
            }),
            Mailer::Files(dir) => write_file(dir, message).map(Some),
        }
    }
}

fn tls_parameters(host: &str, ca_file: Option<&Path>) -> Result<TlsParameters, String> {
    let mut builder = TlsParameters::builder(host.to_owned());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("smtp.ca_file: {}: {e}", path.display()))?;
        let cert = Certificate::from_pem(&pem).map_err(|e| format!("smtp.ca_file: {}: {e}", path.display()))?;
        builder = builder.add_root_certificate(cert);
    }
    builder.build().map_err(|e| format!("smtp TLS settings: {e}"))
}

fn write_file(dir: &Path, message: &Message) -> Result<PathBuf, MailError> {
    std::fs::create_dir_all(dir).map_err(|e| MailError::Transient(format!("{}: {e}", dir.display())))?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6f");
    let name = format!("{stamp}-{}.eml", super::links::new_jti());
    let tmp = dir.join(format!(".{name}.tmp"));
    let path = dir.join(&name);
    std::fs::write(&tmp, message.formatted())
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| MailError::Transient(format!("{}: {e}", path.display())))?;
    Ok(path)
}

/// Builds a multipart (text + HTML) message.
pub fn build(from: &str, to_name: &str, to_address: &str, rendered: &Rendered) -> Result<Message, MailError> {
    let from: Mailbox = from
        .parse()
        .map_err(|e| MailError::Permanent(format!("smtp.from: {e}")))?;
    let to = Mailbox::new(
        (!to_name.is_empty()).then(|| to_name.to_owned()),
        to_address
            .trim()
            .parse()
            .map_err(|e| MailError::Permanent(format!("recipient address `{to_address}`: {e}")))?,
    );
    Message::builder()
        .from(from)
        .to(to)
        .subject(rendered.subject.clone())
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(rendered.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(rendered.html.clone()),
                ),
        )
        .map_err(|e| MailError::Permanent(format!("cannot build the message: {e}")))
}
