//! depot's outgoing mail: one [`Mailer`] over SMTP (plain, STARTTLS, implicit TLS, AUTH), `.eml`
//! files in a directory (the embedded default, so a fresh install needs no mail server). Which messages depot sends, and their words, live in [`messages`].
//!
//! Nothing here queues or retries: the service's outbox does, so that a request never waits on a
//! mail server and a mail server that is down loses nothing.

pub mod messages;

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

/// The `[mail]` section of the configuration.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct MailSettings {
    /// `file` (the default: `.eml` files under `path`) or `smtp`.
    pub transport: String,
    /// SMTP server: `smtp://[user:password@]host[:port]` with STARTTLS required (port 587 by
    /// default; `?tls=opportunistic` or `?tls=none` for a relay without TLS), or
    /// `smtps://[user:password@]host[:port]` for implicit TLS (port 465).
    pub url: Option<String>,
    /// `file` transport: the directory (default `<data_dir>/mail`).
    pub path: Option<PathBuf>,
    /// The sender, e.g. `Example Extensions <noreply@example.com>`.
    pub from: String,
    /// A PEM file of a certificate authority to trust besides the public ones (a mail server
    /// with a private CA).
    pub ca_file: Option<PathBuf>,
    /// Seconds an SMTP command may take.
    pub timeout_secs: u64,
    /// Delivery attempts before the outbox gives a message up (with growing pauses between
    /// them, up to an hour: the default keeps trying for about a day).
    pub max_attempts: u32,
    /// How long an instance holds a message it is delivering before another instance may take
    /// it up (when the first died mid-delivery). At least the send timeout plus a margin.
    pub lease_secs: u64,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            transport: "file".into(),
            url: None,
            path: None,
            from: "depot <depot@localhost>".into(),
            ca_file: None,
            timeout_secs: 15,
            max_attempts: 30,
            lease_secs: 120,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail configuration: {0}")]
    Config(String),
    #[error("cannot build the message: {0}")]
    Message(String),
    #[error("mail delivery failed: {0}")]
    Delivery(String),
}

/// One message, with a plain-text and an HTML body. `Debug` shows the subject only: bodies carry
/// keys and links.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Email({:?})", self.subject)
    }
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
}

#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    description: String,
}

impl Mailer {
    /// Must be called inside a Tokio runtime (the SMTP connection pool lives there).
    pub fn from_settings(settings: &MailSettings, data_dir: &Path) -> Result<Mailer, MailError> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| MailError::Config(format!("mail.from = {:?}: {e}", settings.from)))?;
        let (transport, description) = match settings.transport.as_str() {
            "file" => {
                let dir = settings
                    .path
                    .clone()
                    .unwrap_or_else(|| data_dir.join("mail"));
                std::fs::create_dir_all(&dir).map_err(|e| {
                    MailError::Config(format!("cannot create {}: {e}", dir.display()))
                })?;
                let description = format!("file ({})", dir.display());
                (Transport::File(AsyncFileTransport::new(dir)), description)
            }
            "smtp" => {
                let url = settings.url.as_deref().ok_or_else(|| {
                    MailError::Config("mail.transport = \"smtp\" needs mail.url".into())
                })?;
                let (smtp, description) = smtp_transport(url, settings)?;
                (Transport::Smtp(smtp), description)
            }
            other => {
                return Err(MailError::Config(format!(
                    "mail.transport = {other:?}: use file or smtp"
                )));
            }
        };
        Ok(Mailer {
            transport,
            from,
            description,
        })
    }

    /// Where mail goes, for startup logs and `check-config` (no credentials).
    pub fn describe(&self) -> &str {
        &self.description
    }

    pub async fn send(&self, email: &Email) -> Result<(), MailError> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|e| MailError::Message(format!("bad recipient: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.as_str())
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| MailError::Message(e.to_string()))?;
        let result = match &self.transport {
            Transport::Smtp(t) => t.send(message).await.map(drop).map_err(|e| e.to_string()),
            Transport::File(t) => t.send(message).await.map(drop).map_err(|e| e.to_string()),
        };
        // Server replies may echo the address; it never reaches a log through this error.
        result.map_err(|e| MailError::Delivery(e.replace(&email.to, "<recipient>")))
    }
}

/// How an `smtp://` connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TlsMode {
    /// STARTTLS, refusing a server that does not offer it.
    Required,
    Opportunistic,
    None,
    /// `smtps://`: TLS from the first byte.
    Implicit,
}

fn smtp_transport(
    url: &str,
    settings: &MailSettings,
) -> Result<(AsyncSmtpTransport<Tokio1Executor>, String), MailError> {
    let bad = |why: String| MailError::Config(format!("mail.url: {why}"));
    let parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
    let mode = match (parsed.scheme(), tls_param(&parsed).as_deref()) {
        ("smtps", None) => TlsMode::Implicit,
        ("smtp", None | Some("required")) => TlsMode::Required,
        ("smtp", Some("opportunistic")) => TlsMode::Opportunistic,
        ("smtp", Some("none")) => TlsMode::None,
        (scheme, tls) => {
            return Err(bad(format!(
                "scheme {scheme:?} with tls={tls:?}: use smtp://… (tls=required|opportunistic|none) or smtps://…"
            )));
        }
    };
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = parsed.port().unwrap_or(match mode {
        TlsMode::Implicit => 465,
        TlsMode::None => 25,
        _ => 587,
    });
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
        .port(port)
        .timeout(Some(Duration::from_secs(settings.timeout_secs.max(1))));
    if mode != TlsMode::None {
        let mut params = TlsParameters::builder(host.clone());
        if let Some(ca) = &settings.ca_file {
            let pem = std::fs::read(ca)
                .map_err(|e| MailError::Config(format!("mail.ca_file {}: {e}", ca.display())))?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|e| MailError::Config(format!("mail.ca_file {}: {e}", ca.display())))?;
            params = params.add_root_certificate(cert);
        }
        let params = params
            .build_rustls()
            .map_err(|e| MailError::Config(format!("TLS for {host}: {e}")))?;
        builder = builder.tls(match mode {
            TlsMode::Implicit => Tls::Wrapper(params),
            TlsMode::Opportunistic => Tls::Opportunistic(params),
            _ => Tls::Required(params),
        });
    }
    if !parsed.username().is_empty() {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| bad("the user or password is not UTF-8".into()))
        };
        let user = decode(parsed.username())?;
        let password = decode(parsed.password().unwrap_or_default())?;
        builder = builder.credentials(Credentials::new(user, password));
    }
    let description = format!(
        "smtp {host}:{port} ({})",
        match mode {
            TlsMode::Required => "STARTTLS",
            TlsMode::Opportunistic => "STARTTLS if offered",
            TlsMode::None => "no TLS",
            TlsMode::Implicit => "TLS",
        }
    );
    Ok((builder.build(), description))
}

fn tls_param(url: &url::Url) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smtp(url: &str) -> Result<String, MailError> {
        let settings = MailSettings {
            transport: "smtp".into(),
            url: Some(url.into()),
            ..MailSettings::default()
        };
        Mailer::from_settings(&settings, Path::new("/nonexistent")).map(|m| m.describe().into())
    }

    // The pooled SMTP transport spawns onto (and is dropped inside) a Tokio runtime.
    #[tokio::test]
    async fn smtp_urls() {
        assert_eq!(
            smtp("smtp://u:p@mail.example.com").unwrap(),
            "smtp mail.example.com:587 (STARTTLS)"
        );
        assert_eq!(
            smtp("smtps://mail.example.com").unwrap(),
            "smtp mail.example.com:465 (TLS)"
        );
        assert_eq!(
            smtp("smtp://127.0.0.1:2525?tls=none").unwrap(),
            "smtp 127.0.0.1:2525 (no TLS)"
        );
        assert_eq!(
            smtp("smtp://mail.example.com?tls=opportunistic").unwrap(),
            "smtp mail.example.com:587 (STARTTLS if offered)"
        );
        for bad in [
            "http://x",
            "smtp://x?tls=maybe",
            "smtps://x?tls=none",
            "not a url",
        ] {
            assert!(smtp(bad).is_err(), "{bad}");
        }
        let missing = MailSettings {
            transport: "smtp".into(),
            ..MailSettings::default()
        };
        assert!(Mailer::from_settings(&missing, Path::new("/x")).is_err());
    }

    #[tokio::test]
    async fn descriptions_carry_no_credentials() {
        let d = smtp("smtp://mailer:hunter2@mail.example.com").unwrap();
        assert!(!d.contains("hunter2") && !d.contains("mailer"), "{d}");
    }

    #[tokio::test]
    async fn file_transport_writes_eml_files() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::from_settings(&MailSettings::default(), dir.path()).unwrap();
        let email = Email {
            to: "someone@example.com".into(),
            subject: "Hello & welcome".into(),
            text: "plain".into(),
            html: "<p>html</p>".into(),
        };
        mailer.send(&email).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path().join("mail"))
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(files.len(), 1);
        assert!(files[0].path().extension().is_some_and(|e| e == "eml"));
        let raw = std::fs::read_to_string(files[0].path()).unwrap();
        assert!(raw.contains("To: someone@example.com"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(!format!("{email:?}").contains("plain"));
    }

    #[tokio::test]
    async fn bad_recipient_and_sender_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::from_settings(&MailSettings::default(), dir.path()).unwrap();
        let email = Email {
            to: "not an address".into(),
            subject: "s".into(),
            text: "t".into(),
            html: "h".into(),
        };
        assert!(matches!(
            mailer.send(&email).await,
            Err(MailError::Message(_))
        ));
        let settings = MailSettings {
            from: "nobody".into(),
            ..MailSettings::default()
        };
        assert!(matches!(
            Mailer::from_settings(&settings, Path::new("/tmp")),
            Err(MailError::Config(_))
        ));
    }
}
