//! Reading an uploaded package: is it a sound zip, and which extension and version does its
//! Joomla manifest describe?
//!
//! The manifest is found the way Joomla's installer finds it: an `*.xml` file at the top of the
//! archive (or inside a single top-level folder, which Joomla descends into) whose root element is
//! `<extension>`. Every entry is also decompressed once, into nothing, so that a corrupt entry, a
//! path that escapes the archive or a zip bomb is refused before a single site downloads it.

use std::io::{self, Read, Seek, SeekFrom};

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use sha2::{Digest, Sha256};

use crate::composer::{self, ComposerJsonError, ComposerManifest};
use crate::extension::{ExtensionType, Identity, IdentityError, default_client};
use crate::version::{Version, VersionError};
use crate::wordpress::{self, WordPressManifest};

/// Caps that keep a hostile archive from costing more than a legitimate one.
#[derive(Clone, Debug)]
pub struct PackageLimits {
    pub max_entries: usize,
    pub max_unpacked_bytes: u64,
    /// Unpacked size over compressed size, for the archive as a whole.
    pub max_ratio: u64,
    pub max_manifest_bytes: u64,
}

impl Default for PackageLimits {
    fn default() -> Self {
        PackageLimits {
            max_entries: 20_000,
            max_unpacked_bytes: 2 << 30,
            max_ratio: 200,
            max_manifest_bytes: 1 << 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("the upload is not a zip archive ({0})")]
    NotAZip(String),
    #[error(
        "no Joomla manifest found: expected an XML file whose root is <extension> at the top of the zip or inside its single top-level folder"
    )]
    NoManifest,
    #[error("more than one Joomla manifest found: {0}")]
    MultipleManifests(String),
    #[error("the manifest {path} is not well-formed XML: {detail}")]
    MalformedManifest { path: String, detail: String },
    #[error("the manifest {path} has no {field}")]
    MissingField { path: String, field: &'static str },
    #[error("the manifest {path}: {source}")]
    BadIdentity {
        path: String,
        #[source]
        source: IdentityError,
    },
    #[error("the manifest {path}: {source}")]
    BadVersion {
        path: String,
        #[source]
        source: VersionError,
    },
    #[error("the zip holds an unsafe path {0:?} (absolute, or escaping the archive with ..)")]
    UnsafePath(String),
    #[error("the zip holds more than {0} entries")]
    TooManyEntries(usize),
    #[error("the zip expands to more than {0} bytes")]
    TooLarge(u64),
    #[error("the zip expands more than {0} times its size (a zip bomb?)")]
    RatioExceeded(u64),
    #[error("the zip entry {name} is corrupt: {detail}")]
    CorruptEntry { name: String, detail: String },
    #[error("the zip holds a name twice ({0}): readers would disagree on which is the file")]
    DuplicateEntry(String),
    #[error("the zip entry {0:?} is a symbolic link or another special file, not a file")]
    SpecialEntry(String),
    #[error("{0}")]
    ComposerJson(#[source] ComposerJsonError),
    #[error(
        "no WordPress plugin or theme found: expected a zip holding one folder named {slug}, with \
         a PHP file whose header has `Plugin Name:` ({slug}/{slug}.php) or a style.css whose \
         header has `Theme Name:`"
    )]
    NoWordPressHeader { slug: String },
}

impl PackageError {
    /// A stable machine-readable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            PackageError::NotAZip(_) => "not_a_zip",
            PackageError::NoManifest => "no_manifest",
            PackageError::MultipleManifests(_) => "multiple_manifests",
            PackageError::MalformedManifest { .. } => "malformed_manifest",
            PackageError::MissingField { .. } => "manifest_missing_field",
            PackageError::BadIdentity { .. } => "manifest_bad_identity",
            PackageError::BadVersion { .. } => "manifest_bad_version",
            PackageError::UnsafePath(_) => "unsafe_path",
            PackageError::TooManyEntries(_) => "too_many_entries",
            PackageError::TooLarge(_) => "unpacked_too_large",
            PackageError::RatioExceeded(_) => "zip_bomb",
            PackageError::CorruptEntry { .. } => "corrupt_entry",
            PackageError::DuplicateEntry(_) => "duplicate_entry",
            PackageError::SpecialEntry(_) => "special_entry",
            PackageError::ComposerJson(_) => "bad_composer_json",
            PackageError::NoWordPressHeader { .. } => "no_manifest",
        }
    }
}

/// What the manifest of a package says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// Path of the manifest inside the zip.
    pub path: String,
    pub identity: Identity,
    pub version: Version,
    /// The manifest's `<name>` (may be a language key such as `COM_FOO`).
    pub name: String,
}

/// What a sound package holds that depot reads: its Joomla manifest, its `composer.json`.
#[derive(Debug)]
pub struct Contents {
    /// The Joomla manifest, or why there is none usable.
    pub joomla: Result<Manifest, PackageError>,
    /// The `composer.json` beside it, if the package has one.
    pub composer: Option<Result<ComposerManifest, PackageError>>,
    /// The WordPress plugin or theme its folder holds (with its `readme.txt`), if any.
    pub wordpress: Option<WordPressManifest>,
}

/// Inspects a whole package: structure, safety, then the Joomla manifest.
pub fn inspect<R: Read + Seek>(
    reader: R,
    limits: &PackageLimits,
) -> Result<Manifest, PackageError> {
    inspect_contents(reader, limits)?.joomla
}

/// Inspects a whole package: structure and safety (an unsound zip is an error), then what its
/// manifests say (each one's own result).
pub fn inspect_contents<R: Read + Seek>(
    mut reader: R,
    limits: &PackageLimits,
) -> Result<Contents, PackageError> {
    // Counted from the end-of-central-directory record, before the zip reader allocates an
    // entry for each of them.
    let declared = declared_entries(&mut reader);
    if declared.is_some_and(|n| n > limits.max_entries as u64) {
        return Err(PackageError::TooManyEntries(limits.max_entries));
    }
    let mut archive =
        zip::ZipArchive::new(reader).map_err(|e| PackageError::NotAZip(e.to_string()))?;
    if archive.len() > limits.max_entries {
        return Err(PackageError::TooManyEntries(limits.max_entries));
    }
    // The zip reader keeps one entry per name: fewer entries than the directory lists means a
    // name is there twice, and the other entry would go unchecked.
    if declared.is_some_and(|n| n != archive.len() as u64) {
        return Err(PackageError::DuplicateEntry(format!(
            "{} entries under {} names",
            declared.unwrap_or_default(),
            archive.len()
        )));
    }
    let (names, local_names) = check_entries(&mut archive, limits)?;
    let mut reader = archive.into_inner();
    check_local_names(&mut reader, &local_names)?;
    let mut archive =
        zip::ZipArchive::new(reader).map_err(|e| PackageError::NotAZip(e.to_string()))?;
    let root = single_top_folder(&names);
    let mut found: Vec<Manifest> = Vec::new();
    let mut first_malformed: Option<PackageError> = None;
    let mut first_bad: Option<PackageError> = None;
    let mut composer = None;
    // WordPress: headers of the PHP files and style.css in the package's folder, its readme.
    let mut headers: Vec<WordPressManifest> = Vec::new();
    let mut readme: Option<String> = None;
    let mut assets: Vec<wordpress::WordPressAsset> = Vec::new();
    let mut php_files = 0;
    let folder = root.trim_end_matches('/');
    for (index, name) in names.iter().enumerate() {
        let Some(rel) = name.strip_prefix(root.as_str()) else {
            continue;
        };
        let lower = rel.to_ascii_lowercase();
        let kind = match lower.as_str() {
            _ if !folder.is_empty() && wordpress::asset_role(rel).is_some() => {
                Entry::WordPressAsset
            }
            _ if rel.contains('/') => continue,
            _ if lower.ends_with(".xml") => Entry::JoomlaXml,
            COMPOSER_JSON => Entry::ComposerJson,
            _ if folder.is_empty() => continue,
            "readme.txt" => Entry::Readme,
            "style.css" => Entry::WordPressHeader,
            _ if lower.ends_with(".php") && php_files < MAX_PHP_HEADERS => {
                php_files += 1;
                Entry::WordPressHeader
            }
            _ => continue,
        };
        let cap = match kind {
            Entry::WordPressHeader => wordpress::HEADER_BYTES as u64,
            // One byte over the limit tells a file that is too large from one that fits.
            Entry::WordPressAsset => wordpress::MAX_ASSET_BYTES + 1,
            _ => limits.max_manifest_bytes,
        };
        let mut file = archive
            .by_index(index)
            .map_err(|e| corrupt(name, e.to_string()))?;
        let mut bytes = Vec::new();
        let read = (&mut file).take(cap).read_to_end(&mut bytes).map_err(|e| {
            PackageError::MalformedManifest {
                path: name.clone(),
                detail: e.to_string(),
            }
        });
        match kind {
            Entry::WordPressHeader => {
                let text = String::from_utf8_lossy(&bytes);
                if let Some(m) = read
                    .ok()
                    .and_then(|_| wordpress::read_header(name, folder, &text))
                {
                    headers.push(m);
                }
                continue;
            }
            Entry::Readme => {
                readme = read
                    .ok()
                    .map(|_| String::from_utf8_lossy(&bytes).into_owned());
                continue;
            }
            Entry::WordPressAsset => {
                // An image too large, or unreadable, is left out rather than refusing the
                // package: it is decoration.
                if read.is_ok() && bytes.len() as u64 <= wordpress::MAX_ASSET_BYTES {
                    assets.push(wordpress::WordPressAsset {
                        name: wordpress::asset_role(rel)
                            .map(|(n, _, _)| n.to_string())
                            .unwrap_or_default(),
                        entry: name.clone(),
                        sha256: hex::encode(Sha256::digest(&bytes)),
                    });
                }
                continue;
            }
            _ => {}
        }
        let read = read.and_then(|_| {
            String::from_utf8(bytes).map_err(|e| PackageError::MalformedManifest {
                path: name.clone(),
                detail: e.to_string(),
            })
        });
        if kind == Entry::ComposerJson {
            composer = Some(read.and_then(|text| {
                composer::read_composer_json(name, &text).map_err(PackageError::ComposerJson)
            }));
            continue;
        }
        let found_here = read.and_then(|text| read_manifest(name, &text));
        match found_here {
            Ok(Some(m)) => found.push(m),
            Ok(None) => {}
            Err(e @ PackageError::MalformedManifest { .. }) => {
                first_malformed.get_or_insert(e);
            }
            Err(e) => {
                first_bad.get_or_insert(e);
            }
        }
    }
    // The main file WordPress would load: the one named after the folder, else the first.
    let main_file = format!("{root}{folder}.php");
    let wordpress = headers
        .iter()
        .position(|m| m.path == main_file)
        .or((!headers.is_empty()).then_some(0))
        .map(|i| {
            let mut m = headers.swap_remove(i);
            if let Some(readme) = &readme {
                m.add_readme(readme);
            }
            if m.kind == "plugin" {
                assets.sort_by(|a, b| a.name.cmp(&b.name));
                m.assets = std::mem::take(&mut assets);
            }
            m
        });
    let joomla = match (first_bad, found.len()) {
        (Some(e), _) => Err(e),
        (None, 0) => Err(first_malformed.unwrap_or(PackageError::NoManifest)),
        (None, 1) => Ok(found.remove(0)),
        (None, _) => Err(PackageError::MultipleManifests(
            found
                .iter()
                .map(|m| m.path.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        )),
    };
    Ok(Contents {
        joomla,
        composer,
        wordpress,
    })
}

/// Composer's manifest, at the top of a package (or of its single folder).
const COMPOSER_JSON: &str = "composer.json";

/// PHP files of a WordPress package's folder whose header is read (a plugin's main file is
/// among the first; a library's hundreds of files need not all be opened).
const MAX_PHP_HEADERS: usize = 100;

/// What an entry at the top of the package is to depot.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Entry {
    JoomlaXml,
    ComposerJson,
    /// A PHP file or `style.css` whose header may name a WordPress plugin or theme.
    WordPressHeader,
    Readme,
    /// A banner or icon of a WordPress plugin.
    WordPressAsset,
}

fn corrupt(name: &str, detail: String) -> PackageError {
    PackageError::CorruptEntry {
        name: name.to_string(),
        detail,
    }
}

/// Where an entry's local header starts, and the name the central directory gives it.
type LocalName = (u64, Vec<u8>);

/// Decompresses every entry into nothing, enforcing the caps on what it *actually* produces (the
/// sizes a zip declares can lie), and refuses names and entries a package has no business with:
/// unsafe or control characters, the same name twice, links and other special files. Returns
/// the entry names in archive order, and where each local header is with its central name.
fn check_entries<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    limits: &PackageLimits,
) -> Result<(Vec<String>, Vec<LocalName>), PackageError> {
    let mut names = Vec::with_capacity(archive.len());
    let mut local_names = Vec::with_capacity(archive.len());
    let mut unpacked: u64 = 0;
    let mut packed: u64 = 0;
    for i in 0..archive.len() {
        let mut file = archive
            .by_index(i)
            .map_err(|e| corrupt(&format!("#{i}"), e.to_string()))?;
        let name = file
            .name()
            .map_err(|e| corrupt(&format!("#{i}"), e.to_string()))?
            .into_owned();
        if file.enclosed_name().is_none()
            || !is_relative_name(&name)
            || name.chars().any(char::is_control)
        {
            return Err(PackageError::UnsafePath(name));
        }
        if is_special(&file) {
            return Err(PackageError::SpecialEntry(name));
        }
        local_names.push((file.header_start(), file.name_raw().to_vec()));
        packed += file.compressed_size();
        let budget = limits.max_unpacked_bytes - unpacked;
        let n = io::copy(&mut (&mut file).take(budget + 1), &mut io::sink())
            .map_err(|e| corrupt(&name, e.to_string()))?;
        unpacked += n;
        if unpacked > limits.max_unpacked_bytes {
            return Err(PackageError::TooLarge(limits.max_unpacked_bytes));
        }
        names.push(name);
    }
    // Small archives compress text well; only judge the ratio once there is something to judge.
    if unpacked > 1 << 20 && unpacked / packed.max(1) > limits.max_ratio {
        return Err(PackageError::RatioExceeded(limits.max_ratio));
    }
    Ok((names, local_names))
}

/// A symbolic link, or a Unix special file (device, FIFO, socket): nothing a package ships.
fn is_special<R: Read>(file: &zip::read::ZipFile<'_, R>) -> bool {
    const FILE_TYPE: u32 = 0o170_000;
    const REGULAR: u32 = 0o100_000;
    const DIRECTORY: u32 = 0o040_000;
    file.is_symlink()
        || file
            .unix_mode()
            .is_some_and(|mode| !matches!(mode & FILE_TYPE, 0 | REGULAR | DIRECTORY))
}

/// Each entry's local header must name it as the central directory does: an unpacker that walks
/// the local headers would otherwise write another file than the one inspected.
fn check_local_names<R: Read + Seek>(
    reader: &mut R,
    local_names: &[LocalName],
) -> Result<(), PackageError> {
    const LOCAL_HEADER: [u8; 4] = *b"PK\x03\x04";
    for (start, central) in local_names {
        let central_text = String::from_utf8_lossy(central).into_owned();
        let corrupt = |detail: &str| corrupt(&central_text, detail.to_string());
        let mut header = [0u8; 30];
        reader
            .seek(SeekFrom::Start(*start))
            .and_then(|_| reader.read_exact(&mut header))
            .map_err(|e| corrupt(&e.to_string()))?;
        if header[..4] != LOCAL_HEADER {
            return Err(corrupt(
                "no local header where the central directory points",
            ));
        }
        let len = u16::from_le_bytes([header[26], header[27]]) as usize;
        let mut local = vec![0u8; len];
        reader
            .read_exact(&mut local)
            .map_err(|e| corrupt(&e.to_string()))?;
        if &local != central {
            return Err(corrupt(
                "its local header names another file than the central directory",
            ));
        }
    }
    Ok(())
}

/// The number of entries the end-of-central-directory record declares (the zip64 one when the
/// classic field is saturated), read without parsing the directory; `None` when there is no such
/// record (the zip reader then refuses the file).
/// The reader is left at the start, whatever was found.
fn declared_entries<R: Read + Seek>(reader: &mut R) -> Option<u64> {
    let declared = read_declared_entries(reader);
    reader.seek(SeekFrom::Start(0)).ok()?;
    declared
}

fn read_declared_entries<R: Read + Seek>(reader: &mut R) -> Option<u64> {
    const EOCD: [u8; 4] = *b"PK\x05\x06";
    const ZIP64_LOCATOR: [u8; 4] = *b"PK\x06\x07";
    const ZIP64_EOCD: [u8; 4] = *b"PK\x06\x06";
    let len = reader.seek(SeekFrom::End(0)).ok()?;
    // The record is 22 bytes plus a comment of at most 65,535.
    let tail_len = len.min(22 + 65_535);
    let mut tail = vec![0u8; tail_len as usize];
    reader.seek(SeekFrom::Start(len - tail_len)).ok()?;
    reader.read_exact(&mut tail).ok()?;
    let at = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail[i..i + 4] == EOCD)?;
    let entries = u16::from_le_bytes([tail[at + 10], tail[at + 11]]);
    // Zip64: a saturated count, and a locator just before the classic record pointing at the
    // zip64 one.
    let locator = at.checked_sub(20);
    let Some(locator) = locator.filter(|&l| entries == u16::MAX && tail[l..l + 4] == ZIP64_LOCATOR)
    else {
        return Some(u64::from(entries));
    };
    let offset = u64::from_le_bytes(tail[locator + 8..locator + 16].try_into().ok()?);
    let mut record = [0u8; 40];
    reader.seek(SeekFrom::Start(offset)).ok()?;
    reader.read_exact(&mut record).ok()?;
    if record[..4] != ZIP64_EOCD {
        return None;
    }
    Some(u64::from_le_bytes(record[32..40].try_into().ok()?))
}

/// `enclosed_name` accepts `/etc/x` (it drops the root); an unpacker may not, so absolute names,
/// drive letters and backslashes are refused outright.
fn is_relative_name(name: &str) -> bool {
    !name.starts_with('/') && !name.contains('\\') && name.as_bytes().get(1) != Some(&b':')
}

/// `"folder/"` when every entry lives under one top-level folder (Joomla descends into it), else
/// `""`.
fn single_top_folder(names: &[String]) -> String {
    let mut top: Option<&str> = None;
    for name in names {
        match name.split_once('/') {
            Some((dir, _)) if top.is_none_or(|t| t == dir) => top = Some(dir),
            _ => return String::new(),
        }
    }
    top.map(|t| format!("{t}/")).unwrap_or_default()
}

/// Fields collected from one manifest document.
#[derive(Default)]
struct RawManifest {
    kind: Option<String>,
    client: Option<String>,
    group: Option<String>,
    name: String,
    version: String,
    element: String,
    packagename: String,
    libraryname: String,
    tag: String,
    /// `plugin="…"` / `module="…"` attributes of `<files>` children.
    files_plugin: Option<String>,
    files_module: Option<String>,
}

/// Parses one XML file. `Ok(None)` when it is well-formed but not a manifest (e.g. `config.xml`).
pub fn read_manifest(path: &str, xml: &str) -> Result<Option<Manifest>, PackageError> {
    let malformed = |detail: String| PackageError::MalformedManifest {
        path: path.to_string(),
        detail,
    };
    let mut reader = Reader::from_str(xml);
    let mut raw = RawManifest::default();
    // Element names from the root down to the current element.
    let mut stack: Vec<String> = Vec::new();
    let mut is_manifest = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| malformed(format!("{e} at byte {}", reader.buffer_position())))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = e.name().as_ref().to_string();
                if stack.is_empty() {
                    if name != "extension" {
                        return Ok(None);
                    }
                    is_manifest = true;
                    raw.kind = attr(e, "type").map_err(&malformed)?;
                    raw.client = attr(e, "client").map_err(&malformed)?;
                    raw.group = attr(e, "group").map_err(&malformed)?;
                } else if stack.len() == 2 && stack[1] == "files" {
                    if let Some(p) = attr(e, "plugin").map_err(&malformed)? {
                        raw.files_plugin.get_or_insert(p);
                    }
                    if let Some(m) = attr(e, "module").map_err(&malformed)? {
                        raw.files_module.get_or_insert(m);
                    }
                }
                if matches!(event, Event::Start(_)) {
                    stack.push(name);
                }
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Text(t) => {
                if let Some(field) = text_field(&mut raw, &stack) {
                    field.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(field) = text_field(&mut raw, &stack) {
                    field.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match &*r {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => return Err(malformed(format!("unknown entity &{other};"))),
                    },
                    Err(e) => return Err(malformed(e.to_string())),
                };
                if let Some(field) = text_field(&mut raw, &stack) {
                    field.push_str(&resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !is_manifest {
        return Ok(None);
    }
    if !stack.is_empty() {
        return Err(malformed(format!("<{}> is never closed", stack.join("><"))));
    }
    build(path, raw).map(Some)
}

fn attr(e: &BytesStart<'_>, key: &str) -> Result<Option<String>, String> {
    match e.try_get_attribute(key) {
        Ok(Some(a)) => a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map(|v| Some(v.trim().to_string()))
            .map_err(|e| e.to_string()),
        Ok(None) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// The field a text event belongs to: only direct children of the root are read.
fn text_field<'a>(raw: &'a mut RawManifest, stack: &[String]) -> Option<&'a mut String> {
    if stack.len() != 2 {
        return None;
    }
    Some(match stack[1].as_str() {
        "name" => &mut raw.name,
        "version" => &mut raw.version,
        "element" => &mut raw.element,
        "packagename" => &mut raw.packagename,
        "libraryname" => &mut raw.libraryname,
        "tag" => &mut raw.tag,
        _ => return None,
    })
}

/// Joomla's `cmd` input filter, lower-cased: what the installer does to names it derives.
fn cmd_filter(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .collect::<String>()
        .trim_start_matches('.')
        .to_ascii_lowercase()
}

fn build(path: &str, raw: RawManifest) -> Result<Manifest, PackageError> {
    let missing = |field| PackageError::MissingField {
        path: path.to_string(),
        field,
    };
    let bad_identity = |source| PackageError::BadIdentity {
        path: path.to_string(),
        source,
    };
    let kind: ExtensionType = raw
        .kind
        .as_deref()
        .ok_or_else(|| missing("type attribute on <extension>"))?
        .parse()
        .map_err(bad_identity)?;
    let name = raw.name.trim().to_string();
    let explicit = raw.element.trim();
    let element = match kind {
        ExtensionType::Component if explicit.is_empty() => {
            if name.is_empty() {
                return Err(missing("<name>"));
            }
            cmd_filter(&name)
        }
        ExtensionType::Module if explicit.is_empty() => raw
            .files_module
            .clone()
            .ok_or_else(|| missing("module element (<element> or module=\"…\" in <files>)"))?,
        ExtensionType::Plugin if explicit.is_empty() => raw
            .files_plugin
            .clone()
            .ok_or_else(|| missing("plugin element (<element> or plugin=\"…\" in <files>)"))?,
        ExtensionType::Package => {
            let p = raw.packagename.trim();
            if p.is_empty() {
                return Err(missing("<packagename>"));
            }
            format!("pkg_{}", p.trim_start_matches("pkg_"))
        }
        ExtensionType::Library => {
            let l = raw.libraryname.trim();
            if l.is_empty() {
                return Err(missing("<libraryname>"));
            }
            l.to_string()
        }
        ExtensionType::Language => {
            let t = raw.tag.trim();
            if t.is_empty() {
                return Err(missing("<tag>"));
            }
            t.to_string()
        }
        ExtensionType::Template if explicit.is_empty() => {
            if name.is_empty() {
                return Err(missing("<name>"));
            }
            cmd_filter(&name.replace(' ', "_"))
        }
        ExtensionType::File if explicit.is_empty() => {
            let base = path.rsplit('/').next().unwrap_or(path);
            base[..base.len() - 4].to_string()
        }
        _ => explicit.to_string(),
    };
    let client = match (kind, raw.client.as_deref()) {
        (ExtensionType::Module | ExtensionType::Template | ExtensionType::Language, Some(c)) => {
            c.parse().map_err(bad_identity)?
        }
        _ => default_client(kind),
    };
    let identity =
        Identity::new(&element, kind, client, raw.group.as_deref()).map_err(bad_identity)?;
    let version = Version::parse(&raw.version).map_err(|source| {
        if raw.version.trim().is_empty() {
            missing("<version>")
        } else {
            PackageError::BadVersion {
                path: path.to_string(),
                source,
            }
        }
    })?;
    Ok(Manifest {
        path: path.to_string(),
        version,
        name: if name.is_empty() {
            identity.full_name.clone()
        } else {
            name
        },
        identity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extension::Client;

    fn manifest(xml: &str) -> Manifest {
        read_manifest("x.xml", xml).unwrap().unwrap()
    }

    #[test]
    fn reads_each_extension_type() {
        let m = manifest(
            r#"<?xml version="1.0"?><extension type="component" method="upgrade"><name>COM_FOO</name><version>1.2.0</version></extension>"#,
        );
        assert_eq!(m.identity.full_name, "com_foo");
        assert_eq!(m.identity.client, Client::Administrator);
        assert_eq!(m.version.as_str(), "1.2.0");

        let m = manifest(
            r#"<extension type="plugin" group="system"><name>PLG_SYSTEM_FOO</name><version>2.0.0-beta1</version>
               <files><folder plugin="foo">services</folder><folder>src</folder></files></extension>"#,
        );
        assert_eq!(m.identity.full_name, "plg_system_foo");
        assert_eq!(m.identity.element, "foo");
        assert_eq!(m.identity.folder.as_deref(), Some("system"));
        assert_eq!(m.identity.client, Client::Site);

        let m = manifest(
            r#"<extension type="module" client="administrator"><name>Foo</name><version>1.0.0</version>
               <files><filename module="mod_foo">mod_foo.php</filename></files></extension>"#,
        );
        assert_eq!(m.identity.full_name, "mod_foo");
        assert_eq!(m.identity.client, Client::Administrator);

        let m = manifest(
            r#"<extension type="package"><name>Foo &amp; Bar</name><packagename>foo</packagename><version>1.0.0</version></extension>"#,
        );
        assert_eq!(m.identity.full_name, "pkg_foo");
        assert_eq!(m.identity.element, "pkg_foo");
        assert_eq!(m.name, "Foo & Bar");

        let m = manifest(
            r#"<extension type="library"><name><![CDATA[Foo Lib]]></name><libraryname>foo</libraryname><version>1.0</version></extension>"#,
        );
        assert_eq!(m.identity.full_name, "lib_foo");
        assert_eq!(m.name, "Foo Lib");
    }

    #[test]
    fn non_manifests_are_skipped_and_broken_ones_named() {
        assert!(
            read_manifest("config.xml", "<config><fieldset/></config>")
                .unwrap()
                .is_none()
        );
        let e =
            read_manifest("foo.xml", "<extension type=\"component\"><name>x</name>").unwrap_err();
        assert_eq!(e.code(), "malformed_manifest");
        let e = read_manifest(
            "foo.xml",
            "<extension type=\"component\"><name>x</name><version>v1.0</version></extension>",
        )
        .unwrap_err();
        assert_eq!(e.code(), "manifest_bad_version");
        let e = read_manifest(
            "foo.xml",
            "<extension type=\"component\"><name>x</name></extension>",
        )
        .unwrap_err();
        assert_eq!(e.code(), "manifest_missing_field");
        let e = read_manifest(
            "foo.xml",
            "<extension type=\"widget\"><name>x</name></extension>",
        )
        .unwrap_err();
        assert_eq!(e.code(), "manifest_bad_identity");
    }

    #[test]
    fn entity_tricks_do_not_expand() {
        let xml = r#"<!DOCTYPE extension [<!ENTITY a "aaaaaaaaaa">]><extension type="component"><name>&a;</name><version>1.0.0</version></extension>"#;
        let e = read_manifest("x.xml", xml).unwrap_err();
        assert_eq!(e.code(), "malformed_manifest");
    }

    #[test]
    fn absolute_names_are_not_relative() {
        assert!(is_relative_name("a/b.php"));
        for bad in ["/etc/passwd", "C:/x", "a\\..\\b"] {
            assert!(!is_relative_name(bad), "{bad}");
        }
    }

    #[test]
    fn top_folder_detection() {
        let n = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(single_top_folder(&n(&["a/x.xml", "a/b/c.php"])), "a/");
        assert_eq!(single_top_folder(&n(&["a/x.xml", "x.xml"])), "");
        assert_eq!(single_top_folder(&n(&["a/x.xml", "b/x.xml"])), "");
    }

    #[test]
    fn an_explicit_element_wins_over_the_derived_one() {
        for (kind, files) in [
            ("component", ""),
            (
                "module",
                r#"<files><filename module="mod_derived">x.php</filename></files>"#,
            ),
            (
                "plugin",
                r#"<files><filename plugin="derived">x.php</filename></files>"#,
            ),
            ("template", ""),
            ("file", ""),
        ] {
            let xml = format!(
                r#"<extension type="{kind}" group="system" client="site"><name>Derived Name</name><element>explicit</element><version>1.0.0</version>{files}</extension>"#
            );
            let m = read_manifest("files_derived.xml", &xml).unwrap().unwrap();
            // Components are normalised to `com_…`; the rest keep the name as given.
            assert!(
                m.identity.element.ends_with("explicit"),
                "{kind}: {}",
                m.identity.element
            );
            assert!(!m.identity.element.contains("derived"), "{kind}");
        }
    }

    #[test]
    fn derived_elements_of_templates_files_and_languages() {
        let m = manifest(
            r#"<extension type="template" client="site"><name>My Shiny Template</name><version>1.0.0</version></extension>"#,
        );
        assert_eq!(m.identity.element, "my_shiny_template");
        let m = read_manifest(
            "files_foo.xml",
            r#"<extension type="file"><name>Foo files</name><version>1.0.0</version></extension>"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(m.identity.element, "files_foo");
        let m = manifest(
            r#"<extension type="language" client="site"><name>German</name><tag>de-DE</tag><version>5.0.0.1</version></extension>"#,
        );
        assert_eq!(m.identity.element, "de-de");
        let e = read_manifest(
            "x.xml",
            r#"<extension type="language"><name>German</name><version>5.0.0.1</version></extension>"#,
        )
        .unwrap_err();
        assert_eq!(e.code(), "manifest_missing_field");
    }
}

/// Mutation fuzzing of the parsers, deterministic so that it can run in every test run: whatever
/// bytes arrive, inspection returns a result and never panics. (`fuzz/` holds the cargo-fuzz
/// target for open-ended runs.)
#[cfg(test)]
mod fuzz {
    use super::*;
    use std::io::{Cursor, Write};

    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn sample_zip() -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        w.start_file("pkg_x.xml", opts).unwrap();
        w.write_all(
            br#"<?xml version="1.0"?><extension type="package"><name>X &amp; Y</name><packagename>x</packagename><version>1.0.0</version></extension>"#,
        )
        .unwrap();
        w.start_file("inner/com_x.zip", opts).unwrap();
        w.write_all(&[7u8; 3000]).unwrap();
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn mutated_archives_never_panic() {
        let base = sample_zip();
        assert!(inspect(Cursor::new(base.clone()), &PackageLimits::default()).is_ok());
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..3000 {
            let mut data = base.clone();
            for _ in 0..1 + rng.next() % 8 {
                let i = (rng.next() as usize) % data.len();
                data[i] = rng.next() as u8;
            }
            if rng.next().is_multiple_of(5) {
                let cut = (rng.next() as usize) % data.len();
                data.truncate(cut);
            }
            let _ = inspect(Cursor::new(data), &PackageLimits::default());
        }
    }

    #[test]
    fn mutated_manifests_never_panic() {
        let base = br#"<?xml version="1.0"?><extension type="plugin" group="system"><name>A &#38; B &lt;</name><version>1.0.0</version><files><filename plugin="x">x.php</filename></files><![CDATA[z]]></extension>"#;
        let mut rng = XorShift(42);
        for _ in 0..5000 {
            let mut data = base.to_vec();
            for _ in 0..1 + rng.next() % 6 {
                let i = (rng.next() as usize) % data.len();
                data[i] = b"<>&;#x\"'/= az09\x00\xff"[(rng.next() % 17) as usize];
            }
            let text = String::from_utf8_lossy(&data);
            let _ = read_manifest("m.xml", &text);
        }
    }
}

/// The zip-bomb guards at their exact boundaries: one byte, one entry or one ratio step either
/// side of each limit.
#[cfg(test)]
mod limits {
    use super::*;
    use std::io::{Cursor, Write};

    const MANIFEST: &[u8] = br#"<?xml version="1.0"?><extension type="component"><name>X</name><version>1.0.0</version></extension>"#;

    /// A package of `com_x.xml` and `files`, each stored or deflated.
    fn package(files: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(method);
        w.start_file("com_x.xml", opts).unwrap();
        w.write_all(MANIFEST).unwrap();
        for (name, data) in files {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn stored(files: &[(&str, &[u8])]) -> Vec<u8> {
        package(files, zip::CompressionMethod::Stored)
    }

    fn check(zip: &[u8], limits: PackageLimits) -> Result<Manifest, PackageError> {
        inspect(Cursor::new(zip), &limits)
    }

    /// The compressed bytes of every entry, as the ratio check adds them up.
    fn packed_size(zip: &[u8]) -> u64 {
        let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
        (0..archive.len())
            .map(|i| archive.by_index(i).unwrap().compressed_size())
            .sum()
    }

    #[test]
    fn entry_count_limit() {
        let zip = stored(&[("a.txt", b"a"), ("b.txt", b"b")]);
        let at = |max_entries| PackageLimits {
            max_entries,
            ..PackageLimits::default()
        };
        assert!(check(&zip, at(3)).is_ok());
        let err = check(&zip, at(2)).unwrap_err();
        assert!(matches!(err, PackageError::TooManyEntries(2)), "{err:?}");
        assert_eq!(err.code(), "too_many_entries");
    }

    #[test]
    fn unpacked_size_limit_counts_every_byte() {
        let data = [b'x'; 1000];
        let zip = stored(&[("a.bin", &data), ("b.bin", &data)]);
        let total = MANIFEST.len() as u64 + 2000;
        let at = |max_unpacked_bytes| PackageLimits {
            max_unpacked_bytes,
            ..PackageLimits::default()
        };
        assert!(check(&zip, at(total)).is_ok());
        let err = check(&zip, at(total - 1)).unwrap_err();
        assert!(
            matches!(err, PackageError::TooLarge(n) if n == total - 1),
            "{err:?}"
        );
        assert_eq!(err.code(), "unpacked_too_large");
    }

    #[test]
    fn ratio_limit_applies_past_one_mebibyte() {
        let zeros = vec![0u8; 2 << 20];
        let zip = package(&[("zeros.bin", &zeros)], zip::CompressionMethod::Deflated);
        let unpacked = MANIFEST.len() as u64 + zeros.len() as u64;
        let ratio = unpacked / packed_size(&zip);
        assert!(ratio > 100, "deflate squeezes zeros: {ratio}");
        let at = |max_ratio| PackageLimits {
            max_ratio,
            ..PackageLimits::default()
        };
        assert!(check(&zip, at(ratio)).is_ok());
        let err = check(&zip, at(ratio - 1)).unwrap_err();
        assert!(
            matches!(err, PackageError::RatioExceeded(r) if r == ratio - 1),
            "{err:?}"
        );
        assert_eq!(err.code(), "zip_bomb");
    }

    #[test]
    fn ratio_is_not_judged_up_to_one_mebibyte() {
        let fill = |unpacked: usize| vec![0u8; unpacked - MANIFEST.len()];
        let strict = PackageLimits {
            max_ratio: 1,
            ..PackageLimits::default()
        };
        let deflated = |data: &[u8]| package(&[("z.bin", data)], zip::CompressionMethod::Deflated);
        assert!(check(&deflated(&fill(1 << 20)), strict.clone()).is_ok());
        let err = check(&deflated(&fill((1 << 20) + 1)), strict).unwrap_err();
        assert!(matches!(err, PackageError::RatioExceeded(1)), "{err:?}");
    }

    #[test]
    fn a_damaged_entry_is_refused() {
        let mut zip = stored(&[("a.txt", b"hello, world")]);
        let at = zip.windows(12).position(|w| w == b"hello, world").unwrap();
        zip[at] = b'j';
        let err = check(&zip, PackageLimits::default()).unwrap_err();
        assert!(
            matches!(err, PackageError::CorruptEntry { ref name, .. } if name == "a.txt"),
            "{err:?}"
        );
        assert_eq!(err.code(), "corrupt_entry");
    }

    /// A zip of exactly these entries, stored.
    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for (name, data) in files {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn no_manifest_and_only_a_broken_one_are_told_apart() {
        let err = check(&zip_of(&[("a.txt", b"a")]), PackageLimits::default()).unwrap_err();
        assert!(matches!(err, PackageError::NoManifest), "{err:?}");
        let broken = zip_of(&[("com_x.xml", b"<extension type=\"component\"><name>")]);
        let err = check(&broken, PackageLimits::default()).unwrap_err();
        assert_eq!(err.code(), "malformed_manifest");
    }

    #[test]
    fn manifests_below_the_top_folder_are_not_the_package_s() {
        // A package carrying another extension's manifest in a subfolder (as packages of
        // several extensions do) has one manifest: its own, at the top.
        let plugin = br#"<extension type="plugin" group="system"><name>p</name><element>p</element><version>1.0.0</version></extension>"#;
        let zip = stored(&[("sub/plg_system_p.xml", plugin), ("readme.txt", b"hi")]);
        let m = check(&zip, PackageLimits::default()).unwrap();
        assert_eq!(m.identity.full_name, "com_x");
    }

    #[test]
    fn names_outside_the_package_are_refused_by_either_check() {
        // `C:/x` is "enclosed" for the zip crate on Unix but not relative on Windows; `a/../..`
        // is relative by its first characters but leaves the folder.
        for name in ["C:/x.php", "a/../../x.php"] {
            let err = check(&stored(&[(name, b"x")]), PackageLimits::default()).unwrap_err();
            assert!(
                matches!(err, PackageError::UnsafePath(ref n) if n == name),
                "{err:?}"
            );
        }
    }

    #[test]
    fn an_oversized_entry_is_not_read_past_the_cap() {
        // The second entry is damaged at its end. Reading stops one byte past what the cap
        // leaves, so the answer is "too large", not the damage found by reading it all.
        let mut zip = stored(&[("a.bin", &[b'a'; 600]), ("b.bin", &[b'b'; 1500])]);
        let at = zip.windows(1500).position(|w| w == [b'b'; 1500]).unwrap();
        zip[at + 1499] = b'c';
        let max = MANIFEST.len() as u64 + 1000;
        let limits = PackageLimits {
            max_unpacked_bytes: max,
            ..PackageLimits::default()
        };
        let err = check(&zip, limits).unwrap_err();
        assert!(
            matches!(err, PackageError::TooLarge(n) if n == max),
            "{err:?}"
        );
        let err = check(&zip, PackageLimits::default()).unwrap_err();
        assert_eq!(err.code(), "corrupt_entry");
    }

    /// The defaults the README documents (`[limits]`): changing one is a decision, not a slip.
    #[test]
    fn the_default_limits_are_the_documented_ones() {
        let d = PackageLimits::default();
        assert_eq!(d.max_entries, 20_000);
        assert_eq!(d.max_unpacked_bytes, 2_147_483_648);
        assert_eq!(d.max_ratio, 200);
        assert_eq!(d.max_manifest_bytes, 1 << 20);
    }

    /// Replaces the `n`th occurrence of `from` in the raw archive by `to` (same length): the
    /// local header comes first, the central directory's copy second.
    fn rename_raw(mut zip: Vec<u8>, from: &str, to: &str, occurrences: &[usize]) -> Vec<u8> {
        assert_eq!(from.len(), to.len());
        let at: Vec<usize> = zip
            .windows(from.len())
            .enumerate()
            .filter(|(_, w)| *w == from.as_bytes())
            .map(|(i, _)| i)
            .collect();
        for &n in occurrences {
            zip[at[n]..at[n] + to.len()].copy_from_slice(to.as_bytes());
        }
        zip
    }

    #[test]
    fn the_declared_entry_count_is_refused_before_the_directory_is_read() {
        // A directory that claims 60,000 entries (the count a zip reader would allocate for) is
        // refused from its end record alone.
        let mut zip = stored(&[("a.txt", b"a")]);
        let eocd = zip.windows(4).rposition(|w| w == b"PK\x05\x06").unwrap();
        for field in [eocd + 8, eocd + 10] {
            zip[field..field + 2].copy_from_slice(&60_000u16.to_le_bytes());
        }
        let err = check(&zip, PackageLimits::default()).unwrap_err();
        assert!(
            matches!(err, PackageError::TooManyEntries(20_000)),
            "{err:?}"
        );
    }

    #[test]
    fn duplicate_entry_names_are_refused() {
        // A small entry and a big one under the same name: readers disagree on which is the file.
        let zip = stored(&[("a.txt", b"small"), ("b.txt", b"the other content")]);
        let zip = rename_raw(zip, "b.txt", "a.txt", &[0, 1]);
        let err = check(&zip, PackageLimits::default()).unwrap_err();
        assert_eq!(err.code(), "duplicate_entry", "{err:?}");
    }

    #[test]
    fn a_local_header_that_contradicts_the_central_directory_is_refused() {
        let zip = rename_raw(stored(&[("a.txt", b"x")]), "a.txt", "b.txt", &[0]);
        let err = check(&zip, PackageLimits::default()).unwrap_err();
        assert_eq!(err.code(), "corrupt_entry", "{err:?}");
    }

    #[test]
    fn control_characters_in_names_are_refused() {
        for bad in ["a\u{0}.txt", "a\u{1}.txt", "a\n.txt"] {
            let zip = rename_raw(stored(&[("aZ.txt", b"x")]), "aZ.txt", bad, &[0, 1]);
            let err = check(&zip, PackageLimits::default()).unwrap_err();
            assert_eq!(err.code(), "unsafe_path", "{bad:?}: {err:?}");
        }
    }

    #[test]
    fn symlinks_are_refused() {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        w.start_file("com_x.xml", opts).unwrap();
        w.write_all(MANIFEST).unwrap();
        w.add_symlink("link", "/etc/passwd", opts).unwrap();
        let zip = w.finish().unwrap().into_inner();
        let err = check(&zip, PackageLimits::default()).unwrap_err();
        assert_eq!(err.code(), "special_entry", "{err:?}");
    }
}
