//! WordPress plugins and themes: their slug, and what their headers and `readme.txt` say.
//!
//! A WordPress zip holds one folder named after the slug (WordPress installs it as
//! `wp-content/plugins/{slug}`; another folder name would install a second plugin beside the
//! first). A plugin's main file is the PHP file in that folder whose header comment has
//! `Plugin Name:`; a theme's is `style.css` with `Theme Name:`. Headers are read as WordPress's
//! `get_file_data` reads them: the first 8 KiB, one `Field: value` per line. `readme.txt` (the
//! WordPress.org format) adds `Tested up to`, the description, and the sections shown in the
//! "View details" dialog, converted from its Markdown to HTML.

use std::fmt;

/// A plugin or theme slug: lower-case letters and digits, joined by single `-`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Slug(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not a WordPress slug: use lower-case letters and digits joined by '-'")]
pub struct BadSlug(pub String);

const MAX_SLUG_LEN: usize = 100;

impl Slug {
    pub fn parse(slug: &str) -> Result<Self, BadSlug> {
        let ok = !slug.is_empty()
            && slug.len() <= MAX_SLUG_LEN
            && slug.split('-').all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        if ok {
            Ok(Slug(slug.to_string()))
        } else {
            Err(BadSlug(slug.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WordPressKind {
    Plugin,
    Theme,
}

impl WordPressKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WordPressKind::Plugin => "plugin",
            WordPressKind::Theme => "theme",
        }
    }
}

/// What a WordPress package says about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WordPressManifest {
    /// `plugin` or `theme`.
    pub kind: String,
    /// The folder the zip holds (the slug it installs as).
    pub folder: String,
    /// The main file inside the zip.
    pub path: String,
    pub name: String,
    pub version: Option<String>,
    pub description: Option<String>,
    /// `Plugin URI` / `Theme URI`.
    pub homepage: Option<String>,
    pub author: Option<String>,
    pub author_homepage: Option<String>,
    /// `Requires at least`: the oldest WordPress it runs on.
    pub requires: Option<String>,
    /// `Tested up to`.
    pub tested: Option<String>,
    pub requires_php: Option<String>,
    /// `readme.txt`'s sections as HTML (`description`, `installation`, `faq`, `changelog`, …),
    /// in the readme's order.
    pub sections: Vec<(String, String)>,
    /// `readme.txt`'s upgrade notice for this version, as HTML.
    pub upgrade_notice: Option<String>,
    /// Banners and icons in the zip's `.wordpress-org/` folder (the layout WordPress.org deploy
    /// tools read), for the "View details" dialog and the updates screen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<WordPressAsset>,
}

/// A banner or icon shipped in the zip.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WordPressAsset {
    /// `banner-772x250.png`, `icon-256x256.png`, `icon.svg`, …
    pub name: String,
    /// The entry in the zip.
    pub entry: String,
    /// Of the image's bytes, hex: its URL names it, so that only a reader of the metadata
    /// knows where a paid plugin's images are.
    pub sha256: String,
}

/// The banners and icons plugin-update-checker passes on to WordPress: the member of `banners`
/// or `icons` each file name stands for.
const ASSET_ROLES: [(&str, &str, &str); 5] = [
    ("banner-772x250", "banners", "low"),
    ("banner-1544x500", "banners", "high"),
    ("icon-128x128", "icons", "1x"),
    ("icon-256x256", "icons", "2x"),
    ("icon", "icons", "svg"),
];

/// The largest banner or icon kept (a 1544×500 PNG is a few hundred KB).
pub const MAX_ASSET_BYTES: u64 = 1 << 20;

/// Whether `rel` (a path inside the plugin's folder) is a banner or icon: its file name, and
/// the member of `banners` or `icons` it fills.
pub fn asset_role(rel: &str) -> Option<(&str, &'static str, &'static str)> {
    let name = rel.strip_prefix(".wordpress-org/")?;
    let (group, member) = asset_member(name)?;
    Some((name, group, member))
}

/// The member of `banners` or `icons` an asset's file name fills.
pub fn asset_member(name: &str) -> Option<(&'static str, &'static str)> {
    let (stem, ext) = name.rsplit_once('.')?;
    let allowed = if stem == "icon" {
        ext == "svg"
    } else {
        matches!(ext, "png" | "jpg")
    };
    let (_, group, member) = ASSET_ROLES.iter().find(|(s, _, _)| *s == stem)?;
    allowed.then_some((*group, *member))
}

/// The content type an asset is served with.
pub fn asset_content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("svg") => "image/svg+xml",
        Some("jpg") => "image/jpeg",
        _ => "image/png",
    }
}

/// How much of a file WordPress reads for its header.
pub const HEADER_BYTES: usize = 8 * 1024;

/// A header field's value in `text` (WordPress's `get_file_data`): a line that has `field:` after
/// optional comment markers, up to a closing `*/` or `?>`.
pub fn header_field(text: &str, field: &str) -> Option<String> {
    for line in text.lines() {
        let rest = line
            .trim_start_matches([' ', '\t'])
            .trim_start_matches("<?php")
            .trim_start_matches([' ', '\t', '/', '*', '#', '@']);
        let Some(head) = rest.get(..field.len()) else {
            continue;
        };
        if !head.eq_ignore_ascii_case(field) {
            continue;
        }
        let Some(value) = rest[field.len()..].strip_prefix(':') else {
            continue;
        };
        let value = value
            .split("*/")
            .next()
            .unwrap_or_default()
            .split("?>")
            .next()
            .unwrap_or_default()
            .trim();
        if !value.is_empty() {
            return Some(value.to_string());
        }
    }
    None
}

/// Reads a plugin's main file or a theme's `style.css`; `None` when it has no such header.
pub fn read_header(path: &str, folder: &str, text: &str) -> Option<WordPressManifest> {
    let (kind, name_field, uri_field) = if let Some(name) = header_field(text, "Plugin Name") {
        (WordPressKind::Plugin, name, "Plugin URI")
    } else if let Some(name) = header_field(text, "Theme Name") {
        (WordPressKind::Theme, name, "Theme URI")
    } else {
        return None;
    };
    let field = |f: &str| header_field(text, f);
    Some(WordPressManifest {
        kind: kind.as_str().into(),
        folder: folder.to_string(),
        path: path.to_string(),
        name: name_field,
        version: field("Version"),
        description: field("Description"),
        homepage: field(uri_field),
        author: field("Author"),
        author_homepage: field("Author URI"),
        requires: field("Requires at least"),
        tested: field("Tested up to"),
        requires_php: field("Requires PHP"),
        sections: Vec::new(),
        upgrade_notice: None,
        assets: Vec::new(),
    })
}

impl WordPressManifest {
    /// Adds what `readme.txt` says: its header fields where the main file said nothing, its
    /// short description, its sections and the upgrade notice of this manifest's version.
    pub fn add_readme(&mut self, readme: &str) {
        let mut lines = readme.lines().peekable();
        // `=== Name ===`, then `Field: value` lines, then the short description.
        while lines.peek().is_some_and(|l| l.trim().is_empty()) {
            lines.next();
        }
        if lines
            .peek()
            .is_some_and(|l| l.trim_start().starts_with("==="))
        {
            lines.next();
        }
        let mut short = Vec::new();
        let mut in_fields = true;
        while let Some(line) = lines.peek() {
            if section_title(line).is_some() {
                break;
            }
            let line = lines.next().unwrap_or_default().trim();
            if in_fields {
                if line.is_empty() {
                    in_fields = false;
                    continue;
                }
                if let Some((key, value)) = line.split_once(':')
                    && README_FIELDS.contains(&key.trim().to_ascii_lowercase().as_str())
                {
                    let value = value.trim().to_string();
                    match key.trim().to_ascii_lowercase().as_str() {
                        "requires at least" => {
                            self.requires.get_or_insert(value);
                        }
                        "tested up to" => {
                            self.tested.get_or_insert(value);
                        }
                        "requires php" => {
                            self.requires_php.get_or_insert(value);
                        }
                        _ => {}
                    }
                    continue;
                }
                in_fields = false;
            }
            if !line.is_empty() {
                short.push(line);
            }
        }
        if self.description.is_none() && !short.is_empty() {
            self.description = Some(short.join(" "));
        }
        let mut current: Option<(String, Vec<&str>)> = None;
        let mut sections: Vec<(String, Vec<&str>)> = Vec::new();
        for line in lines {
            if let Some(title) = section_title(line) {
                sections.extend(current.take());
                current = Some((section_key(title), Vec::new()));
            } else if let Some((_, body)) = current.as_mut() {
                body.push(line);
            }
        }
        sections.extend(current);
        for (key, body) in sections {
            if key == "upgrade_notice" {
                self.upgrade_notice = self
                    .version
                    .as_deref()
                    .and_then(|v| notice_for(&body, v))
                    .map(|text| markdown_to_html(&text));
                continue;
            }
            let html = markdown_to_html(&body.join("\n"));
            if !html.is_empty() {
                self.sections.push((key, html));
            }
        }
    }
}

/// The header fields of the WordPress.org readme format.
const README_FIELDS: &[&str] = &[
    "contributors",
    "donate link",
    "tags",
    "requires at least",
    "tested up to",
    "stable tag",
    "requires php",
    "license",
    "license uri",
];

/// `== Title ==` → `Title`.
fn section_title(line: &str) -> Option<&str> {
    let t = line.trim();
    let inner = t.strip_prefix("==")?.strip_suffix("==")?;
    (!inner.starts_with('=')).then(|| inner.trim())
}

/// WordPress's section keys: `Frequently Asked Questions` is `faq`, the others in snake case.
fn section_key(title: &str) -> String {
    let lower = title.to_ascii_lowercase();
    match lower.as_str() {
        "frequently asked questions" => "faq".into(),
        _ => lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join("_"),
    }
}

/// The `= {version} =` part of an upgrade notice section.
fn notice_for(body: &[&str], version: &str) -> Option<String> {
    let mut taking = false;
    let mut text = Vec::new();
    for line in body {
        if let Some(heading) = subheading(line) {
            if taking {
                break;
            }
            taking = heading.trim_start_matches(['v', 'V']) == version;
            continue;
        }
        if taking {
            text.push(*line);
        }
    }
    let text = text.join("\n").trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// `= Heading =` → `Heading`.
fn subheading(line: &str) -> Option<&str> {
    let t = line.trim();
    let inner = t.strip_prefix('=')?.strip_suffix('=')?;
    (!inner.starts_with('=') && !inner.trim().is_empty()).then(|| inner.trim())
}

/// The Markdown of `readme.txt` (and of release notes) as the HTML WordPress shows: paragraphs,
/// `= headings =` and `#` headings, `*`/`-`/`1.` lists, `**bold**`, `*em*`, `` `code` `` and
/// `[links](https://…)`. Everything else is text: HTML in the input is escaped.
pub fn markdown_to_html(text: &str) -> String {
    let mut html = String::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let mut list: Option<(&str, Vec<String>)> = None;
    let flush_paragraph = |paragraph: &mut Vec<&str>, html: &mut String| {
        if !paragraph.is_empty() {
            html.push_str("<p>");
            html.push_str(&inline(&paragraph.join(" ")));
            html.push_str("</p>\n");
            paragraph.clear();
        }
    };
    let flush_list = |list: &mut Option<(&str, Vec<String>)>, html: &mut String| {
        if let Some((tag, items)) = list.take() {
            html.push_str(&format!("<{tag}>"));
            for item in items {
                html.push_str(&format!("<li>{}</li>", inline(&item)));
            }
            html.push_str(&format!("</{tag}>\n"));
        }
    };
    for line in text.lines() {
        let t = line.trim();
        let heading = subheading(t).map(|h| h.to_string()).or_else(|| {
            t.starts_with('#')
                .then(|| t.trim_start_matches('#').trim().to_string())
                .filter(|h| !h.is_empty())
        });
        let item = t
            .strip_prefix("* ")
            .or_else(|| t.strip_prefix("- "))
            .map(|i| ("ul", i))
            .or_else(|| {
                let (number, rest) = t.split_once(". ")?;
                (!number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()))
                    .then_some(("ol", rest))
            });
        if t.is_empty() {
            flush_paragraph(&mut paragraph, &mut html);
            flush_list(&mut list, &mut html);
        } else if let Some(h) = heading {
            flush_paragraph(&mut paragraph, &mut html);
            flush_list(&mut list, &mut html);
            html.push_str(&format!("<h4>{}</h4>\n", inline(&h)));
        } else if let Some((tag, text)) = item {
            flush_paragraph(&mut paragraph, &mut html);
            if list.as_ref().is_some_and(|(t, _)| *t != tag) {
                flush_list(&mut list, &mut html);
            }
            list.get_or_insert((tag, Vec::new()))
                .1
                .push(text.to_string());
        } else if let Some((_, items)) = list.as_mut().filter(|_| line.starts_with([' ', '\t'])) {
            // A continuation of the last item.
            if let Some(last) = items.last_mut() {
                last.push(' ');
                last.push_str(t);
            }
        } else {
            flush_list(&mut list, &mut html);
            paragraph.push(t);
        }
    }
    flush_paragraph(&mut paragraph, &mut html);
    flush_list(&mut list, &mut html);
    html.trim_end().to_string()
}

fn escape(text: &str) -> String {
    crate::feed::escape_text(text).replace('"', "&quot;")
}

/// Inline Markdown of one escaped line.
fn inline(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[')
            && let Some((label, tail)) = after.split_once("](")
            && let Some((url, tail)) = tail.split_once(')')
            && (url.starts_with("https://") || url.starts_with("http://"))
            && !label.contains('[')
        {
            out.push_str(&format!(
                "<a href=\"{}\">{}</a>",
                escape(url),
                escape(label)
            ));
            rest = tail;
            continue;
        }
        if let Some(m) = ["**", "`", "*"]
            .into_iter()
            .find_map(|mark| wrapped(rest, mark).map(|(inner, tail)| (mark, inner, tail)))
        {
            let (mark, inner, tail) = m;
            let tag = match mark {
                "**" => "strong",
                "`" => "code",
                _ => "em",
            };
            out.push_str(&format!("<{tag}>{}</{tag}>", escape(inner)));
            rest = tail;
            continue;
        }
        let mut chars = rest.chars();
        let c = chars.next().unwrap_or_default();
        out.push_str(&escape(c.encode_utf8(&mut [0; 4])));
        rest = chars.as_str();
    }
    out
}

/// `{mark}inner{mark}tail` → `(inner, tail)`, for a non-empty inner that does not start with a
/// space.
fn wrapped<'a>(text: &'a str, mark: &str) -> Option<(&'a str, &'a str)> {
    let after = text.strip_prefix(mark)?;
    let end = after.find(mark)?;
    let inner = &after[..end];
    (!inner.is_empty() && !inner.starts_with(' ')).then(|| (inner, &after[end + mark.len()..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLUGIN: &str = "<?php\n/**\n * Plugin Name: Acme Widgets\n * Plugin URI: https://acme.example/widgets\n * Description: Widgets for every page.\n * Version: 1.4.0\n * Requires at least: 6.2\n * Requires PHP: 7.4\n * Author: Acme\n * Author URI: https://acme.example\n */\n\nadd_action('init', 'acme_widgets');\n";

    const README: &str = "=== Acme Widgets ===\nContributors: acme\nTags: widgets\nRequires at least: 6.0\nTested up to: 6.7\nStable tag: 1.4.0\nLicense: GPLv2\n\nWidgets, the short way.\n\n== Description ==\n\nAcme Widgets adds **widgets**.\n\n* One\n* Two <script>\n\n== Frequently Asked Questions ==\n\n= Does it work? =\n\nYes, see [the docs](https://acme.example/docs).\n\n== Changelog ==\n\n= 1.4.0 =\n* Faster.\n\n== Upgrade Notice ==\n\n= 1.4.0 =\nUpgrade for speed.\n\n= 1.3.0 =\nOld news.\n";

    #[test]
    fn slugs() {
        for ok in ["acme-widgets", "a", "widgets2", "a-b-c"] {
            assert_eq!(Slug::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["", "Acme", "acme_widgets", "-a", "a-", "a--b", "a/b", "a.b"] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_a_plugin_header_as_wordpress_does() {
        let m = read_header("acme-widgets/acme-widgets.php", "acme-widgets", PLUGIN).unwrap();
        assert_eq!(m.kind, "plugin");
        assert_eq!(m.name, "Acme Widgets");
        assert_eq!(m.version.as_deref(), Some("1.4.0"));
        assert_eq!(m.requires.as_deref(), Some("6.2"));
        assert_eq!(m.requires_php.as_deref(), Some("7.4"));
        assert_eq!(m.homepage.as_deref(), Some("https://acme.example/widgets"));
        assert_eq!(m.author_homepage.as_deref(), Some("https://acme.example"));
        assert_eq!(
            header_field("// Version: 2 */", "version").as_deref(),
            Some("2")
        );
        assert_eq!(
            header_field("<?php // Plugin Name: X ?>", "Plugin Name").as_deref(),
            Some("X")
        );
        assert!(read_header("x/x.php", "x", "<?php echo 1;").is_none());
        let theme = read_header(
            "t/style.css",
            "t",
            "/*\nTheme Name: Acme Theme\nVersion: 2.0.0\n*/",
        )
        .unwrap();
        assert_eq!(
            (theme.kind.as_str(), theme.name.as_str()),
            ("theme", "Acme Theme")
        );
    }

    #[test]
    fn reads_a_readme() {
        let mut m = read_header("acme-widgets/acme-widgets.php", "acme-widgets", PLUGIN).unwrap();
        m.add_readme(README);
        // The main file's header wins; the readme fills the rest.
        assert_eq!(m.requires.as_deref(), Some("6.2"));
        assert_eq!(m.tested.as_deref(), Some("6.7"));
        let keys: Vec<&str> = m.sections.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["description", "faq", "changelog"]);
        assert_eq!(
            m.sections[0].1,
            "<p>Acme Widgets adds <strong>widgets</strong>.</p>\n<ul><li>One</li><li>Two &lt;script&gt;</li></ul>"
        );
        assert_eq!(
            m.sections[1].1,
            "<h4>Does it work?</h4>\n<p>Yes, see <a href=\"https://acme.example/docs\">the docs</a>.</p>"
        );
        assert_eq!(
            m.upgrade_notice.as_deref(),
            Some("<p>Upgrade for speed.</p>")
        );
        let mut bare = read_header("x/x.php", "x", "<?php /* Plugin Name: X */").unwrap();
        bare.add_readme("=== X ===\nTested up to: 6.5\n\nShort.\n");
        assert_eq!(bare.description.as_deref(), Some("Short."));
        assert_eq!(bare.tested.as_deref(), Some("6.5"));
    }

    #[test]
    fn markdown_subset() {
        assert_eq!(markdown_to_html(""), "");
        assert_eq!(
            markdown_to_html("1. a\n2. b\n\n`x` and *y* and [bad](javascript:alert(1))"),
            "<ol><li>a</li><li>b</li></ol>\n<p><code>x</code> and <em>y</em> and [bad](javascript:alert(1))</p>"
        );
        assert_eq!(
            markdown_to_html("## Fixed\n- a\n  more"),
            "<h4>Fixed</h4>\n<ul><li>a more</li></ul>"
        );
    }
}
