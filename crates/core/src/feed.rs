//! Joomla update feeds: a catalogue snapshot in, XML bytes out.
//!
//! Written by hand rather than through a generic XML writer because the Joomla client is picky in
//! ways a writer does not know about (`docs/joomla-client.md`, A.2–A.8): values such as
//! `<tag>`, `<sha256>`, `<php_minimum>` and `<version>` are not trimmed by the client, so they are
//! emitted with no surrounding whitespace; every `<update>` carries `<client>` and exactly one
//! `<targetplatform name="joomla">`; blocks aimed at Joomla 3 never carry `<supported_databases>`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::str::FromStr;

use crate::extension::{ExtensionType, Identity};
use crate::targets::Targets;
use crate::version::{Stability, Version};

/// Joomla's `#__updates.name` is a varchar(100).
const MAX_FEED_NAME: usize = 100;

/// The database minimums of a release, `mysql=8.0,mariadb=10.4,postgresql=12`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupportedDatabases(BTreeMap<String, String>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct FieldError(pub String);

impl FromStr for SupportedDatabases {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut map = BTreeMap::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (db, min) = item.split_once('=').ok_or_else(|| {
                FieldError(format!(
                    "supported databases: {item:?} is not db=minimum (e.g. mysql=8.0)"
                ))
            })?;
            let db = db.trim().to_ascii_lowercase();
            if !matches!(db.as_str(), "mysql" | "mariadb" | "postgresql") {
                return Err(FieldError(format!(
                    "supported databases: unknown database {db:?} (mysql, mariadb, postgresql)"
                )));
            }
            map.insert(db, parse_dotted_number(min.trim(), "supported databases")?);
        }
        if map.is_empty() {
            return Err(FieldError("supported databases: the list is empty".into()));
        }
        Ok(SupportedDatabases(map))
    }
}

impl std::fmt::Display for SupportedDatabases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let items: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        f.write_str(&items.join(","))
    }
}

/// How urgent a release is as a security fix, for Joomla's `<security>` element (Joomla 5.4
/// and 6.2 show it; older versions, like every Joomla, ignore an element they do not know):
/// `0` (none) to `4` (critical).
pub fn parse_security(s: &str) -> Result<u8, FieldError> {
    match s.trim().parse::<u8>() {
        Ok(level) if level <= 4 => Ok(level),
        _ => Err(FieldError(format!(
            "security {:?}: use 0 (none) to 4 (critical)",
            s.trim()
        ))),
    }
}

/// `8.1`, `7.4.3`: a single token, as `<php_minimum>` needs.
pub fn parse_php_minimum(s: &str) -> Result<String, FieldError> {
    parse_dotted_number(s.trim(), "php_minimum")
}

fn parse_dotted_number(s: &str, what: &str) -> Result<String, FieldError> {
    let parts: Vec<&str> = s.split('.').collect();
    let ok = (1..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(s.to_string())
    } else {
        Err(FieldError(format!(
            "{what}: {s:?} is not a version such as 8.1"
        )))
    }
}

/// The extension a feed is about.
#[derive(Clone, Debug)]
pub struct FeedExtension {
    pub identity: Identity,
    pub name: String,
    pub description: Option<String>,
    pub info_url: Option<String>,
}

/// One published release, with what the feed must say about its file.
#[derive(Clone, Debug)]
pub struct FeedRelease {
    pub version: Version,
    pub stability: Stability,
    pub targets: Targets,
    pub php_minimum: Option<String>,
    pub supported_databases: Option<SupportedDatabases>,
    /// `<security>`, 0 to 4 (see [`parse_security`]).
    pub security: Option<u8>,
    pub download_url: String,
    pub sha256: String,
    pub sha512: String,
    pub notes: Option<String>,
}

/// The start and end of an extension-type feed, around its releases' `<update>` blocks.
pub const EXTENSION_FEED_HEAD: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<updates>\n";
pub const EXTENSION_FEED_TAIL: &str = "</updates>\n";
/// The start and end of a changelog feed, around its releases' `<changelog>` entries.
pub const CHANGELOG_HEAD: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<changelogs>\n";
pub const CHANGELOG_TAIL: &str = "</changelogs>\n";

/// What every `<update>` of one extension shares, escaped once: a feed can list thousands of
/// releases (tens of megabytes), and each release's blocks are rendered on their own (and
/// kept) so that a feed is only their concatenation.
pub struct UpdateRenderer<'a> {
    ext: &'a FeedExtension,
    /// Everything before `<description>`.
    head: String,
    /// From `<element>` up to `<version>`.
    identity: String,
    info: Option<String>,
    changelog: Option<String>,
}

impl<'a> UpdateRenderer<'a> {
    pub fn new(ext: &'a FeedExtension, changelog_url: Option<&str>) -> Self {
        let id = &ext.identity;
        let mut head = String::from("  <update>\n");
        element(&mut head, "name", &truncate(&ext.name, MAX_FEED_NAME));
        let mut identity = String::new();
        element(&mut identity, "element", &id.element);
        element(&mut identity, "type", id.kind.as_str());
        element(&mut identity, "client", id.client.as_str());
        if id.kind == ExtensionType::Plugin
            && let Some(folder) = &id.folder
        {
            element(&mut identity, "folder", folder);
        }
        let info = ext.info_url.as_ref().map(|url| {
            let mut line = String::from("    <infourl title=\"");
            escape_into(&mut line, &ext.name, true);
            line.push_str("\">");
            escape_into(&mut line, url.trim(), false);
            line.push_str("</infourl>\n");
            line
        });
        let changelog = changelog_url.map(|url| {
            let mut line = String::new();
            element(&mut line, "changelogurl", url);
            line
        });
        UpdateRenderer {
            ext,
            head,
            identity,
            info,
            changelog,
        }
    }

    /// A rough size of one release's blocks, to size buffers.
    fn per_update(&self) -> usize {
        self.head.len() + self.identity.len() + 1100
    }

    /// `rel`'s `<update>` blocks, one per targeted Joomla major, appended to `out`.
    pub fn release(&self, rel: &FeedRelease, out: &mut String) {
        for major in rel.targets.majors() {
            let Some(regex) = rel.targets.platform_regex(major) else {
                continue;
            };
            out.push_str(&self.head);
            out.push_str("    <description>");
            match &self.ext.description {
                Some(d) => escape_into(out, d.trim(), false),
                None => {
                    escape_into(out, self.ext.name.trim(), false);
                    out.push(' ');
                    escape_into(out, rel.version.as_str(), false);
                }
            }
            out.push_str("</description>\n");
            out.push_str(&self.identity);
            element(out, "version", rel.version.as_str());
            if let Some(line) = &self.info {
                out.push_str(line);
            }
            out.push_str("    <downloads>\n      <downloadurl type=\"full\" format=\"zip\">");
            escape_into(out, rel.download_url.trim(), false);
            out.push_str("</downloadurl>\n    </downloads>\n");
            hex_element(out, "sha256", &rel.sha256);
            hex_element(out, "sha512", &rel.sha512);
            out.push_str("    <tags>\n      <tag>");
            out.push_str(rel.stability.as_str());
            out.push_str("</tag>\n    </tags>\n");
            if let Some(level) = rel.security {
                let _ = writeln!(out, "    <security>{level}</security>");
            }
            // Joomla 3 has no changelog column, and its database check always fails (A.6).
            if major >= 4 {
                if let Some(line) = &self.changelog {
                    out.push_str(line);
                }
                if let Some(dbs) = &rel.supported_databases {
                    out.push_str("    <supported_databases");
                    for (db, min) in &dbs.0 {
                        let _ = write!(out, " {db}=\"");
                        escape_into(out, min, true);
                        out.push('"');
                    }
                    out.push_str("/>\n");
                }
            }
            if let Some(php) = &rel.php_minimum {
                element(out, "php_minimum", php);
            }
            out.push_str("    <targetplatform name=\"joomla\" version=\"");
            escape_into(out, &regex, true);
            out.push_str("\"/>\n  </update>\n");
        }
    }
}

/// The extension-type feed: one `<update>` per release × targeted Joomla major, newest first.
pub fn render_extension_feed(
    ext: &FeedExtension,
    releases: &[FeedRelease],
    changelog_url: Option<&str>,
) -> String {
    let mut sorted: Vec<&FeedRelease> = releases.iter().collect();
    sorted.sort_by(|a, b| b.version.cmp(&a.version));
    let renderer = UpdateRenderer::new(ext, changelog_url);
    let updates: usize = sorted.iter().map(|r| r.targets.majors().count()).sum();
    let mut out = String::with_capacity(64 + updates * renderer.per_update());
    out.push_str(EXTENSION_FEED_HEAD);
    for rel in sorted {
        renderer.release(rel, &mut out);
    }
    out.push_str(EXTENSION_FEED_TAIL);
    out
}

/// One `<extension>` of a collection feed: the newest stable release for one Joomla major.
#[derive(Clone, Debug)]
pub struct CollectionEntry {
    pub identity: Identity,
    pub name: String,
    pub version: Version,
    pub target_regex: String,
    pub details_url: String,
    pub info_url: Option<String>,
}

/// The collection feed: points at per-extension feeds; never nests collections (A.4, A.8.7).
pub fn render_collection(name: &str, entries: &[CollectionEntry]) -> String {
    let mut out = String::with_capacity(128 + entries.len() * 300);
    let _ = writeln!(
        out,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<extensionset name=\"{}\" description=\"{}\">",
        escape_attr(name),
        escape_attr(name)
    );
    for e in entries {
        let id = &e.identity;
        let _ = write!(
            out,
            "  <extension name=\"{}\" element=\"{}\" type=\"{}\" client=\"{}\"",
            escape_attr(&truncate(&e.name, MAX_FEED_NAME)),
            escape_attr(&id.element),
            id.kind.as_str(),
            id.client.as_str()
        );
        if let Some(folder) = &id.folder {
            let _ = write!(out, " folder=\"{}\"", escape_attr(folder));
        }
        let _ = write!(
            out,
            " version=\"{}\" targetplatform=\"joomla\" targetplatformversion=\"{}\" detailsurl=\"{}\"",
            escape_attr(e.version.as_str()),
            escape_attr(&e.target_regex),
            escape_attr(&e.details_url)
        );
        if let Some(url) = &e.info_url {
            let _ = write!(out, " infourl=\"{}\"", escape_attr(url));
        }
        out.push_str("/>\n");
    }
    out.push_str("</extensionset>\n");
    out
}

/// Changelog categories Joomla 4+ renders, in its order.
const CHANGELOG_SECTIONS: [(&str, &[&str]); 7] = [
    ("security", &["security"]),
    ("fix", &["fix", "fixed", "fixes", "bug fixes", "bugfixes"]),
    (
        "addition",
        &["addition", "additions", "added", "new", "features"],
    ),
    ("change", &["change", "changes", "changed", "improved"]),
    ("remove", &["remove", "removed", "removals", "deprecated"]),
    ("language", &["language", "languages", "translations"]),
    ("note", &["note", "notes"]),
];

/// Splits release notes into Joomla changelog sections.
///
/// Notes are plain text: a line that is a heading (`## Fixed`, `Security:`) switches section, any
/// other non-empty line (a leading `-` or `*` is dropped) is an item; items before any heading are
/// notes.
pub fn changelog_sections(notes: &str) -> Vec<(&'static str, Vec<String>)> {
    let mut sections: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let note_index = CHANGELOG_SECTIONS.len() - 1;
    let mut current = note_index;
    for line in notes.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let heading = line
            .trim_start_matches('#')
            .trim()
            .trim_end_matches(':')
            .trim()
            .to_ascii_lowercase();
        let is_heading_shape = line.starts_with('#') || line.ends_with(':');
        if is_heading_shape
            && let Some(i) = CHANGELOG_SECTIONS
                .iter()
                .position(|(_, words)| words.contains(&heading.as_str()))
        {
            current = i;
            continue;
        }
        let item = line
            .strip_prefix("- ")
            .or_else(|| line.strip_prefix("* "))
            .unwrap_or(line)
            .trim();
        if !item.is_empty() {
            sections.entry(current).or_default().push(item.to_string());
        }
    }
    sections
        .into_iter()
        .map(|(i, items)| (CHANGELOG_SECTIONS[i].0, items))
        .collect()
}

/// The changelog feed, one `<changelog>` per published release with notes, newest first.
pub fn render_changelog(ext: &FeedExtension, releases: &[FeedRelease]) -> String {
    let mut sorted: Vec<&FeedRelease> = releases.iter().collect();
    sorted.sort_by(|a, b| b.version.cmp(&a.version));
    let mut out = String::from(CHANGELOG_HEAD);
    for rel in sorted {
        changelog_entry(ext, rel, &mut out);
    }
    out.push_str(CHANGELOG_TAIL);
    out
}

/// `rel`'s `<changelog>` entry, appended to `out`.
pub fn changelog_entry(ext: &FeedExtension, rel: &FeedRelease, out: &mut String) {
    out.push_str("  <changelog>\n");
    element(out, "element", &ext.identity.element);
    element(out, "type", ext.identity.kind.as_str());
    element(out, "version", rel.version.as_str());
    for (section, items) in changelog_sections(rel.notes.as_deref().unwrap_or_default()) {
        let _ = writeln!(out, "    <{section}>");
        for item in items {
            let _ = writeln!(out, "      <item>{}</item>", escape_text(&item));
        }
        let _ = writeln!(out, "    </{section}>");
    }
    out.push_str("  </changelog>\n");
}

fn element(out: &mut String, name: &str, value: &str) {
    out.push_str("    <");
    out.push_str(name);
    out.push('>');
    escape_into(out, value.trim(), false);
    out.push_str("</");
    out.push_str(name);
    out.push_str(">\n");
}

/// A digest, lower-cased as the client compares it (A.5).
fn hex_element(out: &mut String, name: &str, hex: &str) {
    if hex.bytes().any(|b| b.is_ascii_uppercase()) {
        element(out, name, &hex.to_ascii_lowercase());
    } else {
        element(out, name, hex);
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.trim().chars().take(max).collect()
}

/// Characters XML 1.0 forbids outright are dropped; they can only come from pasted notes.
fn xml_char_allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s, false);
    out
}

pub fn escape_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s, true);
    out
}

/// Appends `s` escaped. Attribute values also escape quotes and whitespace that attribute
/// normalisation would eat. Most values (versions, digests, URLs) need no escaping at all, and
/// are copied in one go.
fn escape_into(out: &mut String, s: &str, attribute: bool) {
    let plain = s.bytes().all(|b| {
        (b' '..0x7f).contains(&b) && !matches!(b, b'&' | b'<' | b'>') && !(attribute && b == b'"')
    });
    if plain {
        out.push_str(s);
        return;
    }
    for c in s.chars().filter(|&c| xml_char_allowed(c)) {
        match (c, attribute) {
            ('&', _) => out.push_str("&amp;"),
            ('<', _) => out.push_str("&lt;"),
            ('>', _) => out.push_str("&gt;"),
            ('"', true) => out.push_str("&quot;"),
            ('\n', true) => out.push_str("&#10;"),
            ('\r', true) => out.push_str("&#13;"),
            ('\t', true) => out.push_str("&#9;"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extension::{Client, ExtensionType};

    fn plugin() -> FeedExtension {
        FeedExtension {
            identity: Identity::new("foo", ExtensionType::Plugin, Client::Site, Some("system"))
                .unwrap(),
            name: "System - Foo & Bar".into(),
            description: None,
            info_url: Some("https://example.com/foo".into()),
        }
    }

    fn release(v: &str, targets: &str) -> FeedRelease {
        let version = Version::parse(v).unwrap();
        FeedRelease {
            stability: version.implied_stability(),
            version,
            targets: targets.parse().unwrap(),
            php_minimum: Some("8.1".into()),
            security: None,
            supported_databases: Some("mysql=8.0,mariadb=10.4,postgresql=12".parse().unwrap()),
            download_url: format!("https://example.com/download/plg_system_foo/{v}/x.zip"),
            sha256: "AB".repeat(32),
            sha512: "cd".repeat(64),
            notes: Some("- first\n## Fixed\n- a <bug>\nSecurity:\n* XSS".into()),
        }
    }

    #[test]
    fn one_update_per_release_and_major_newest_first() {
        let xml = render_extension_feed(
            &plugin(),
            &[release("1.0.0", "3.10,4"), release("1.1.0-beta1", "5,6")],
            Some("https://example.com/changelogs/plg_system_foo.xml"),
        );
        let versions: Vec<&str> = xml
            .match_indices("<version>")
            .map(|(i, _)| &xml[i + 9..i + 9 + xml[i + 9..].find('<').unwrap()])
            .collect();
        assert_eq!(versions, ["1.1.0-beta1", "1.1.0-beta1", "1.0.0", "1.0.0"]);
        assert_eq!(xml.matches("<targetplatform ").count(), 4);
        assert!(xml.contains(r#"<targetplatform name="joomla" version="3\.10\.[0-9]+"/>"#));
        assert!(xml.contains("<tag>beta</tag>"));
        assert!(xml.contains("<folder>system</folder>"));
        assert!(xml.contains("<client>site</client>"));
        assert!(xml.contains("<sha256>abababab"));
        assert!(xml.contains("<name>System - Foo &amp; Bar</name>"));
        // Three blocks are J4+, one is J3: only those three get the database check.
        assert_eq!(xml.matches("<supported_databases ").count(), 3);
    }

    #[test]
    fn changelog_sections_are_parsed() {
        let s = changelog_sections("- first\n## Fixed\n- a <bug>\nSecurity:\n* XSS\n\n");
        assert_eq!(
            s,
            vec![
                ("security", vec!["XSS".to_string()]),
                ("fix", vec!["a <bug>".to_string()]),
                ("note", vec!["first".to_string()]),
            ]
        );
        let xml = render_changelog(&plugin(), &[release("1.0.0", "5")]);
        assert!(xml.contains("<item>a &lt;bug&gt;</item>"));
        assert!(xml.contains("<element>foo</element>"));
    }

    #[test]
    fn field_validation() {
        assert!(parse_php_minimum("8.1").is_ok());
        assert!(parse_php_minimum("8.1 ").is_ok());
        assert!(parse_php_minimum("8.x").is_err());
        assert!(parse_php_minimum("8 .1").is_err());
        assert!("mysql=8.0,oracle=1".parse::<SupportedDatabases>().is_err());
        assert!("mysql".parse::<SupportedDatabases>().is_err());
        assert_eq!(
            "MySQL=8.0, mariadb=10.4"
                .parse::<SupportedDatabases>()
                .unwrap()
                .to_string(),
            "mariadb=10.4,mysql=8.0"
        );
    }

    #[test]
    fn escaping_drops_forbidden_chars() {
        assert_eq!(escape_text("a\u{0}b&c"), "ab&amp;c");
        assert_eq!(escape_attr("a\"b\nc"), "a&quot;b&#10;c");
    }

    #[test]
    fn attribute_whitespace_survives_normalisation() {
        assert_eq!(escape_attr("a\tb\rc\nd"), "a&#9;b&#13;c&#10;d");
        assert_eq!(
            escape_attr("say \"hi\" & <go>"),
            "say &quot;hi&quot; &amp; &lt;go&gt;"
        );
    }

    #[test]
    fn a_collection_lists_its_extensions() {
        let entry = CollectionEntry {
            identity: plugin().identity,
            name: "System - Foo & Bar".into(),
            version: Version::parse("1.2.0").unwrap(),
            target_regex: r"5\.[0-9]+".into(),
            details_url: "https://example.com/updates/plg_system_foo.xml".into(),
            info_url: None,
        };
        assert_eq!(
            render_collection("Example & Co", &[entry]),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
             <extensionset name=\"Example &amp; Co\" description=\"Example &amp; Co\">\n  \
             <extension name=\"System - Foo &amp; Bar\" element=\"foo\" type=\"plugin\" \
             client=\"site\" folder=\"system\" version=\"1.2.0\" targetplatform=\"joomla\" \
             targetplatformversion=\"5\\.[0-9]+\" \
             detailsurl=\"https://example.com/updates/plg_system_foo.xml\"/>\n\
             </extensionset>\n"
        );
    }

    #[test]
    fn strings_of_nothing_but_special_characters_are_escaped() {
        // The fast path copies "plain" strings as they are; these must never count as plain.
        for (s, text, attr) in [
            ("&", "&amp;", "&amp;"),
            ("<>", "&lt;&gt;", "&lt;&gt;"),
            ("\"", "\"", "&quot;"),
        ] {
            assert_eq!(escape_text(s), text, "{s}");
            assert_eq!(escape_attr(s), attr, "{s}");
        }
    }
}

/// What a release requires of a site beyond its Joomla version: the minimums Joomla's extension
/// feed reader checks and its collection reader does not.
#[derive(Clone, Copy, Debug, Default)]
pub struct Minimums<'a> {
    pub php: Option<&'a str>,
    pub databases: Option<&'a SupportedDatabases>,
}

/// The minimums `newer` raises over `older`, in words (`PHP 7.4 → 8.2`, `mysql 5.7 → 8.0`,
/// `drops postgresql`); empty when a site that ran `older` can run `newer`.
pub fn raised_minimums(older: Minimums<'_>, newer: Minimums<'_>) -> Vec<String> {
    let mut raised = Vec::new();
    if let Some(php) = newer.php {
        match older.php {
            None => raised.push(format!("PHP any → {php}")),
            Some(old) if crate::version::php_version_compare(php, old).is_gt() => {
                raised.push(format!("PHP {old} → {php}"))
            }
            Some(_) => {}
        }
    }
    if let Some(new) = newer.databases {
        for (db, min) in &new.0 {
            match older.databases.map(|o| o.0.get(db)) {
                None => raised.push(format!("{db} any → {min}")),
                Some(Some(old)) if crate::version::php_version_compare(min, old).is_gt() => {
                    raised.push(format!("{db} {old} → {min}"))
                }
                // Older did not run on it at all, or asked as much.
                Some(_) => {}
            }
        }
        let supported_before: Vec<&str> = match older.databases {
            Some(o) => o.0.keys().map(String::as_str).collect(),
            None => vec!["mysql", "mariadb", "postgresql"],
        };
        for db in supported_before {
            if !new.0.contains_key(db) {
                raised.push(format!("drops {db}"));
            }
        }
    }
    raised
}

#[cfg(test)]
mod minimums_tests {
    use super::*;

    fn m<'a>(php: Option<&'a str>, dbs: Option<&'a SupportedDatabases>) -> Minimums<'a> {
        Minimums {
            php,
            databases: dbs,
        }
    }

    #[test]
    fn raised_minimums_in_words() {
        assert!(raised_minimums(m(Some("8.1"), None), m(Some("8.1"), None)).is_empty());
        assert!(raised_minimums(m(Some("8.2"), None), m(Some("8.1"), None)).is_empty());
        assert_eq!(
            raised_minimums(m(Some("7.4"), None), m(Some("8.2"), None)),
            ["PHP 7.4 → 8.2"]
        );
        assert_eq!(
            raised_minimums(m(None, None), m(Some("8.1"), None)),
            ["PHP any → 8.1"]
        );
        assert!(raised_minimums(m(Some("8.1"), None), m(None, None)).is_empty());
        let old: SupportedDatabases = "mysql=5.7,mariadb=10.4,postgresql=12".parse().unwrap();
        let new: SupportedDatabases = "mysql=8.0,mariadb=10.4".parse().unwrap();
        assert_eq!(
            raised_minimums(m(None, Some(&old)), m(None, Some(&new))),
            ["mysql 5.7 → 8.0", "drops postgresql"]
        );
        assert!(raised_minimums(m(None, Some(&new)), m(None, Some(&old))).is_empty());
        let mysql: SupportedDatabases = "mysql=8.0".parse().unwrap();
        assert_eq!(
            raised_minimums(m(None, None), m(None, Some(&mysql))),
            ["mysql any → 8.0", "drops mariadb", "drops postgresql"]
        );
    }
}
