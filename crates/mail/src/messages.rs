//! The messages depot sends, each an askama template pair (`templates/*.txt` and `*.html`, the
//! HTML escaped by askama) carrying the vendor's name, logo, colour, support link and footer
//! ([`Branding`]).

use askama::Template;

use crate::Email;

/// The vendor as mails and pages show it (`[branding]`).
#[derive(Clone, Debug)]
pub struct Branding {
    /// The vendor's name: greetings, signatures, page titles.
    pub name: String,
    /// A logo (an absolute http(s) URL), shown at the top of mails and pages.
    pub logo_url: Option<String>,
    /// The accent colour of links and buttons, `#rrggbb`.
    pub accent: Option<String>,
    /// Where customers get help.
    pub support_url: Option<String>,
    /// A line at the end of every mail (an address, a company number).
    pub mail_footer: Option<String>,
}

impl Default for Branding {
    fn default() -> Self {
        Branding {
            name: "depot".into(),
            logo_url: None,
            accent: None,
            support_url: None,
            mail_footer: None,
        }
    }
}

impl Branding {
    /// The accent colour, depot's blue when none is set.
    pub fn accent(&self) -> &str {
        self.accent.as_deref().unwrap_or("#2b5fd9")
    }
}

/// What a key mail (`keybymail`) tells its recipient.
pub struct KeyMail<'a> {
    /// The recipient's normalised address.
    pub email: &'a str,
    /// The package group's display name ("ReDJ Enterprise").
    pub package_group: &'a str,
    /// The jBackend key, for `email` + `key`.
    pub key: &'a str,
    /// A download key for Joomla's Download Key field.
    pub download_key: &'a str,
    /// The public base URL of the server, without a trailing slash.
    pub base_url: &'a str,
    pub brand: &'a Branding,
}

#[derive(Template)]
#[template(path = "key.txt")]
struct KeyText<'a> {
    m: &'a KeyMail<'a>,
}

#[derive(Template)]
#[template(path = "key.html")]
struct KeyHtml<'a> {
    m: &'a KeyMail<'a>,
}

pub fn key_mail(m: &KeyMail<'_>) -> Email {
    Email {
        to: m.email.to_string(),
        subject: format!("Your download key for {}", m.package_group),
        text: render(&KeyText { m }),
        html: render(&KeyHtml { m }),
    }
}

/// What a password link mail tells its recipient.
pub struct PasswordLinkMail<'a> {
    pub email: &'a str,
    /// The single-use link that sets the password.
    pub link: &'a str,
    /// How long the link works, in minutes.
    pub minutes: u64,
    pub brand: &'a Branding,
}

#[derive(Template)]
#[template(path = "password_link.txt")]
struct PasswordLinkText<'a> {
    m: &'a PasswordLinkMail<'a>,
}

#[derive(Template)]
#[template(path = "password_link.html")]
struct PasswordLinkHtml<'a> {
    m: &'a PasswordLinkMail<'a>,
}

pub fn password_link_mail(m: &PasswordLinkMail<'_>) -> Email {
    Email {
        to: m.email.to_string(),
        subject: format!("Set your password for {}", m.brand.name),
        text: render(&PasswordLinkText { m }),
        html: render(&PasswordLinkHtml { m }),
    }
}

/// What a welcome mail (a first purchase made the customer's account) tells its recipient.
pub struct WelcomeMail<'a> {
    pub email: &'a str,
    /// A single-use link that sets the password.
    pub link: &'a str,
    /// How long the link works, in days.
    pub days: u64,
    /// The account page.
    pub account_url: &'a str,
    /// The groups the purchase gave (their names).
    pub groups: &'a [String],
    pub brand: &'a Branding,
}

#[derive(Template)]
#[template(path = "welcome.txt")]
struct WelcomeText<'a> {
    m: &'a WelcomeMail<'a>,
}

#[derive(Template)]
#[template(path = "welcome.html")]
struct WelcomeHtml<'a> {
    m: &'a WelcomeMail<'a>,
}

pub fn welcome_mail(m: &WelcomeMail<'_>) -> Email {
    Email {
        to: m.email.to_string(),
        subject: format!("Welcome to {}: your account", m.brand.name),
        text: render(&WelcomeText { m }),
        html: render(&WelcomeHtml { m }),
    }
}

/// What the mail telling an administrator that depot turned webhook endpoints off says.
pub struct WebhookDisabledMail<'a> {
    pub email: &'a str,
    /// Each endpoint's URL and the reason.
    pub endpoints: &'a [String],
    /// The console's webhooks page.
    pub console_url: &'a str,
    pub brand: &'a Branding,
}

#[derive(Template)]
#[template(path = "webhook_disabled.txt")]
struct WebhookDisabledText<'a> {
    m: &'a WebhookDisabledMail<'a>,
}

#[derive(Template)]
#[template(path = "webhook_disabled.html")]
struct WebhookDisabledHtml<'a> {
    m: &'a WebhookDisabledMail<'a>,
}

pub fn webhook_disabled_mail(m: &WebhookDisabledMail<'_>) -> Email {
    Email {
        to: m.email.to_string(),
        subject: "A webhook endpoint was turned off".into(),
        text: render(&WebhookDisabledText { m }),
        html: render(&WebhookDisabledHtml { m }),
    }
}

/// Which membership mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MembershipMailKind {
    EndingSoon,
    Renewed,
    Ended,
}

/// What a mail about one membership tells its customer.
pub struct MembershipMail<'a> {
    pub email: &'a str,
    pub kind: MembershipMailKind,
    /// The group's name.
    pub group: &'a str,
    /// The membership's end, as a day (`2027-01-03`).
    pub until: &'a str,
    /// For "ends soon": whole days left.
    pub days_left: Option<i64>,
    /// Whether the customer keeps the releases published before the end (a package group of
    /// the group has the "keep what you paid for" policy).
    pub keeps: bool,
    pub account_url: &'a str,
    pub brand: &'a Branding,
}

/// One template struct per file (askama takes a literal path only).
macro_rules! membership_template {
    ($name:ident, $path:literal) => {
        #[derive(Template)]
        #[template(path = $path)]
        struct $name<'a> {
            m: &'a MembershipMail<'a>,
        }
    };
}

membership_template!(EndingText, "membership_ending.txt");
membership_template!(EndingHtml, "membership_ending.html");
membership_template!(RenewedText, "membership_renewed.txt");
membership_template!(RenewedHtml, "membership_renewed.html");
membership_template!(EndedText, "membership_ended.txt");
membership_template!(EndedHtml, "membership_ended.html");

pub fn membership_mail(m: &MembershipMail<'_>) -> Email {
    let (subject, text, html) = match m.kind {
        MembershipMailKind::EndingSoon => (
            format!("Your access to {} ends on {}", m.group, m.until),
            render(&EndingText { m }),
            render(&EndingHtml { m }),
        ),
        MembershipMailKind::Renewed => (
            format!("Renewed: {} until {}", m.group, m.until),
            render(&RenewedText { m }),
            render(&RenewedHtml { m }),
        ),
        MembershipMailKind::Ended => (
            format!("Your access to {} has ended", m.group),
            render(&EndedText { m }),
            render(&EndedHtml { m }),
        ),
    };
    Email {
        to: m.email.to_string(),
        subject,
        text,
        html,
    }
}

/// A template's text. The templates only read fields and format strings, which cannot fail.
fn render(t: &impl Template) -> String {
    t.render().expect("a mail template renders")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brand() -> Branding {
        Branding {
            name: "Example <Extensions>".into(),
            logo_url: Some("https://example.com/logo.png".into()),
            accent: Some("#aa3300".into()),
            support_url: Some("https://example.com/support".into()),
            mail_footer: Some("Example Ltd, 1 Main St".into()),
        }
    }

    #[test]
    fn mails_carry_the_vendors_brand() {
        let m = password_link_mail(&PasswordLinkMail {
            email: "a@example.com",
            link: "https://updates.example.com/account/password?token=abc",
            minutes: 60,
            brand: &brand(),
        });
        assert_eq!(m.subject, "Set your password for Example <Extensions>");
        assert!(m.text.contains("Example <Extensions>\n"), "{}", m.text);
        assert!(m.text.contains("Questions? https://example.com/support"));
        assert!(m.text.contains("Example Ltd, 1 Main St"));
        assert!(
            m.html.contains(
                r#"<img src="https://example.com/logo.png" alt="Example &#60;Extensions&#62;""#
            ),
            "{}",
            m.html
        );
        assert!(!m.html.contains("<Extensions>"));
        assert!(m.html.contains("color:#aa3300"));
        assert!(m.html.contains("Example Ltd, 1 Main St"));
        let plain = password_link_mail(&PasswordLinkMail {
            email: "a@example.com",
            link: "x",
            minutes: 1,
            brand: &Branding::default(),
        });
        assert!(!plain.text.contains("Questions?") && !plain.html.contains("<img"));
    }

    #[test]
    fn key_mail_names_the_group_and_where_keys_go() {
        let m = key_mail(&KeyMail {
            email: "a@example.com",
            package_group: "ReDJ <Enterprise> & Co",
            key: "0123456789abcdef0123456789abcdef",
            download_key: "dkAAAA",
            base_url: "https://updates.example.com",
            brand: &brand(),
        });
        assert_eq!(m.subject, "Your download key for ReDJ <Enterprise> & Co");
        for body in [&m.text, &m.html] {
            assert!(body.contains("0123456789abcdef0123456789abcdef"));
            assert!(body.contains("dkAAAA"));
            assert!(body.contains("Download Key"));
            assert!(body.contains("Update Sites"));
        }
        assert!(
            m.html.contains("ReDJ &#60;Enterprise&#62; &#38; Co"),
            "{}",
            m.html
        );
        assert!(!m.html.contains("<Enterprise>"));
        assert!(m.text.contains("email: a@example.com"));
    }

    #[test]
    fn password_link_mail_carries_the_link_escaped() {
        let m = password_link_mail(&PasswordLinkMail {
            email: "a@example.com",
            link: "https://updates.example.com/account/password?token=abc&x=<y>",
            minutes: 60,
            brand: &brand(),
        });
        assert!(m.text.contains("token=abc&x=<y>"));
        assert!(m.html.contains("token=abc&#38;x=&#60;y&#62;"), "{}", m.html);
        assert!(m.text.contains("60 minutes"));
        assert_eq!(m.to, "a@example.com");
    }
}
