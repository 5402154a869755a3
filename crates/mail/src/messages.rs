//! The messages depot sends, in plain text and HTML. Every value that reaches the HTML is escaped.

use crate::Email;

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
    /// The vendor's name, for the greeting and the signature.
    pub vendor: &'a str,
}

pub fn key_mail(m: &KeyMail<'_>) -> Email {
    let subject = format!("Your download key for {}", m.package_group);
    let text = format!(
        "Hello,\n\
         \n\
         here are your keys for {group}.\n\
         \n\
         For Joomla (4, 5 or 6), the Download Key:\n\
         \n\
         \x20   {dlid}\n\
         \n\
         In your site's administrator, open System > Update Sites, select the update site of the \
         extension, paste the key into the \"Download Key\" field and save. Joomla then sends it \
         with every update it downloads.\n\
         \n\
         For scripts and jBackend clients, your e-mail address and key:\n\
         \n\
         \x20   email: {email}\n\
         \x20   key:   {key}\n\
         \n\
         Send both as the \"email\" and \"key\" parameters with each download, for example as a \
         form POSTed to {base}/get/release/download/<package id>.\n\
         \n\
         Keep these keys private: anyone who has them can download what your subscription \
         allows. If you did not ask for this message, you can ignore it.\n\
         \n\
         {vendor}\n",
        group = m.package_group,
        dlid = m.download_key,
        email = m.email,
        key = m.key,
        base = m.base_url,
        vendor = m.vendor,
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;line-height:1.5\">\
         <p>Hello,</p>\
         <p>here are your keys for <strong>{group}</strong>.</p>\
         <h3>For Joomla (4, 5 or 6): the Download Key</h3>\
         <p><code style=\"font-size:1.1em\">{dlid}</code></p>\
         <p>In your site's administrator, open <em>System → Update Sites</em>, select the update \
         site of the extension, paste the key into the <em>Download Key</em> field and save. \
         Joomla then sends it with every update it downloads.</p>\
         <h3>For scripts and jBackend clients: e-mail and key</h3>\
         <p>email: <code>{email}</code><br>key: <code>{key}</code></p>\
         <p>Send both as the <code>email</code> and <code>key</code> parameters with each \
         download, for example as a form POSTed to \
         <code>{base}/get/release/download/&lt;package id&gt;</code>.</p>\
         <p>Keep these keys private: anyone who has them can download what your subscription \
         allows. If you did not ask for this message, you can ignore it.</p>\
         <p>{vendor}</p></body></html>",
        group = escape(m.package_group),
        dlid = escape(m.download_key),
        email = escape(m.email),
        key = escape(m.key),
        base = escape(m.base_url),
        vendor = escape(m.vendor),
    );
    Email {
        to: m.email.to_string(),
        subject,
        text,
        html,
    }
}

/// What a password link mail tells its recipient.
pub struct PasswordLinkMail<'a> {
    pub email: &'a str,
    /// The single-use link that sets the password.
    pub link: &'a str,
    /// How long the link works, in minutes.
    pub minutes: u64,
    pub vendor: &'a str,
}

pub fn password_link_mail(m: &PasswordLinkMail<'_>) -> Email {
    let subject = format!("Set your password for {}", m.vendor);
    let text = format!(
        "Hello,\n\
         \n\
         someone (we hope you) asked to set the password of your account {email}. Open this \
         link to choose one; it works once, for {minutes} minutes:\n\
         \n\
         \x20   {link}\n\
         \n\
         With it you sign in to your account page, where your download keys are. If you did not \
         ask for this message, you can ignore it: your password stays as it was.\n\
         \n\
         {vendor}\n",
        email = m.email,
        minutes = m.minutes,
        link = m.link,
        vendor = m.vendor,
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;line-height:1.5\">\
         <p>Hello,</p>\
         <p>someone (we hope you) asked to set the password of your account \
         <strong>{email}</strong>. Open this link to choose one; it works once, for {minutes} \
         minutes:</p>\
         <p><a href=\"{link}\">{link}</a></p>\
         <p>With it you sign in to your account page, where your download keys are. If you did \
         not ask for this message, you can ignore it: your password stays as it was.</p>\
         <p>{vendor}</p></body></html>",
        email = escape(m.email),
        minutes = m.minutes,
        link = escape(m.link),
        vendor = escape(m.vendor),
    );
    Email {
        to: m.email.to_string(),
        subject,
        text,
        html,
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_mail_names_the_group_and_where_keys_go() {
        let m = key_mail(&KeyMail {
            email: "a@example.com",
            package_group: "ReDJ <Enterprise> & Co",
            key: "0123456789abcdef0123456789abcdef",
            download_key: "dkAAAA",
            base_url: "https://updates.example.com",
            vendor: "Example Extensions",
        });
        assert_eq!(m.subject, "Your download key for ReDJ <Enterprise> & Co");
        for body in [&m.text, &m.html] {
            assert!(body.contains("0123456789abcdef0123456789abcdef"));
            assert!(body.contains("dkAAAA"));
            assert!(body.contains("Download Key"));
            assert!(body.contains("Update Sites"));
        }
        assert!(m.html.contains("ReDJ &lt;Enterprise&gt; &amp; Co"));
        assert!(!m.html.contains("<Enterprise>"));
        assert!(m.text.contains("email: a@example.com"));
    }

    #[test]
    fn password_link_mail_carries_the_link_escaped() {
        let m = password_link_mail(&PasswordLinkMail {
            email: "a@example.com",
            link: "https://updates.example.com/account/password?token=abc&x=<y>",
            minutes: 60,
            vendor: "Example Extensions",
        });
        assert!(m.text.contains("token=abc&x=<y>"));
        assert!(m.html.contains("token=abc&amp;x=&lt;y&gt;"));
        assert!(m.text.contains("60 minutes"));
        assert_eq!(m.to, "a@example.com");
    }
}
