//! Reading the mail depot sent: raw messages decoded, the keys of a key mail, the link of a
//! password mail.

use super::TestApp;

/// The text of a raw message with quoted-printable soft breaks and escapes undone.
pub fn decoded(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let mut out = Vec::new();
    let bytes = joined.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The jBackend key and the download key a key mail carries.
pub fn keys_in_mail(raw: &str) -> (String, String) {
    let text = decoded(raw);
    let words: Vec<&str> = text.split_whitespace().collect();
    let key = words
        .windows(2)
        .find(|w| w[0] == "key:" && w[1].len() == 32)
        .map(|w| w[1].to_string())
        .expect("a key line");
    let dlid = words
        .iter()
        .find(|w| w.starts_with("dk") && w.len() == 40)
        .map(|w| w.to_string())
        .expect("a download key");
    (key, dlid)
}

/// The password link of the newest mail written to the file transport.
pub fn mailed_link(app: &TestApp) -> String {
    let dir = app.settings.data_dir.join("mail");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    files.sort_by_key(|f| f.metadata().unwrap().modified().unwrap());
    let raw = std::fs::read_to_string(files.last().unwrap().path()).unwrap();
    let text = decoded(&raw);
    let at = text.find("/account/password?token=").expect("a link");
    let start = text[..at].rfind("http").unwrap();
    text[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches(['"', '<', '>'])
        .to_string()
}
