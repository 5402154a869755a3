//! What identifies an extension, to a vendor and to Joomla.
//!
//! Vendors and URLs use the Joomla *full name* (`com_foo`, `plg_system_foo`, `pkg_foo`); Joomla's
//! updater matches an update to an installed extension by the exact tuple
//! `(element, type, client, folder)`. [`Identity`] holds both and keeps them consistent.

use std::fmt;
use std::str::FromStr;

/// Which clients a product is published for: its naming rules, its manifest and the feeds and
/// repositories that list it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Ecosystem {
    /// A Joomla extension (`com_foo`, `plg_system_foo`, …), listed in the Joomla feeds.
    #[default]
    Joomla,
    /// A Composer package (`vendor/name`), listed in the Composer repository.
    Composer,
    /// A WordPress plugin or theme (its slug, `acme-widgets`), with its own update metadata.
    WordPress,
    /// A desktop application (a name of the slug's form, `acme-notes`) whose releases hold one
    /// build per platform, served to Tauri's updater. Never told by the name: the first build
    /// uploaded makes a product an application.
    Application,
}

impl Ecosystem {
    pub const ALL: [Ecosystem; 4] = [
        Ecosystem::Joomla,
        Ecosystem::Composer,
        Ecosystem::WordPress,
        Ecosystem::Application,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Joomla => "joomla",
            Ecosystem::Composer => "composer",
            Ecosystem::WordPress => "wordpress",
            Ecosystem::Application => "application",
        }
    }

    /// The ecosystem a product name belongs to by its form: `vendor/name` is Composer's, a
    /// name with `_` Joomla's (every full name has one: `com_foo`), anything else a WordPress
    /// slug (`acme-widgets`, which never has one). An application's name has a slug's form too:
    /// what exists already decides for it.
    pub fn of_name(name: &str) -> Ecosystem {
        if name.contains('/') {
            Ecosystem::Composer
        } else if name.contains('_') {
            Ecosystem::Joomla
        } else {
            Ecosystem::WordPress
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for Ecosystem {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl FromStr for Ecosystem {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "joomla" => Ok(Ecosystem::Joomla),
            "composer" => Ok(Ecosystem::Composer),
            "wordpress" => Ok(Ecosystem::WordPress),
            "application" => Ok(Ecosystem::Application),
            other => Err(format!(
                "unknown ecosystem {other:?}: use joomla, composer, wordpress or application"
            )),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExtensionType {
    Component,
    Module,
    Plugin,
    Package,
    Library,
    File,
    Template,
    Language,
}

impl ExtensionType {
    pub fn as_str(self) -> &'static str {
        match self {
            ExtensionType::Component => "component",
            ExtensionType::Module => "module",
            ExtensionType::Plugin => "plugin",
            ExtensionType::Package => "package",
            ExtensionType::Library => "library",
            ExtensionType::File => "file",
            ExtensionType::Template => "template",
            ExtensionType::Language => "language",
        }
    }

    /// The full-name prefix (`com_`, `plg_`, …).
    fn prefix(self) -> &'static str {
        match self {
            ExtensionType::Component => "com_",
            ExtensionType::Module => "mod_",
            ExtensionType::Plugin => "plg_",
            ExtensionType::Package => "pkg_",
            ExtensionType::Library => "lib_",
            ExtensionType::File => "file_",
            ExtensionType::Template => "tpl_",
            ExtensionType::Language => "lang_",
        }
    }
}

impl fmt::Display for ExtensionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExtensionType {
    type Err = IdentityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "component" => ExtensionType::Component,
            "module" => ExtensionType::Module,
            "plugin" => ExtensionType::Plugin,
            "package" => ExtensionType::Package,
            "library" => ExtensionType::Library,
            "file" => ExtensionType::File,
            "template" => ExtensionType::Template,
            "language" => ExtensionType::Language,
            other => return Err(IdentityError::UnknownType(other.to_string())),
        })
    }
}

/// Joomla's `client_id`: 0 = site, 1 = administrator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Client {
    Site,
    Administrator,
}

impl Client {
    pub fn as_str(self) -> &'static str {
        match self {
            Client::Site => "site",
            Client::Administrator => "administrator",
        }
    }
}

impl FromStr for Client {
    type Err = IdentityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "site" | "0" => Ok(Client::Site),
            "administrator" | "admin" | "1" => Ok(Client::Administrator),
            other => Err(IdentityError::UnknownClient(other.to_string())),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdentityError {
    #[error("unknown extension type {0:?}")]
    UnknownType(String),
    #[error("unknown client {0:?}: use site or administrator")]
    UnknownClient(String),
    #[error("{0:?} is not a valid element: use letters, digits, '_', '-' and '.' only")]
    BadElement(String),
    #[error("a plugin needs its group (the manifest's group attribute)")]
    MissingFolder,
    #[error(
        "{0:?} is not a Joomla extension full name (com_x, mod_x, plg_group_x, pkg_x, lib_x, tpl_x, file_x, lang_x)"
    )]
    BadFullName(String),
}

/// An extension as both the vendor (full name) and the Joomla updater (element, type, client,
/// folder) know it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub full_name: String,
    pub element: String,
    pub kind: ExtensionType,
    pub client: Client,
    pub folder: Option<String>,
}

const MAX_NAME_LEN: usize = 100;

fn valid_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !s.starts_with('.')
}

impl Identity {
    /// Builds the identity from what Joomla stores; the full name is derived.
    pub fn new(
        element: &str,
        kind: ExtensionType,
        client: Client,
        folder: Option<&str>,
    ) -> Result<Self, IdentityError> {
        let element = element.trim().to_ascii_lowercase();
        if !valid_token(&element) {
            return Err(IdentityError::BadElement(element));
        }
        let folder = match kind {
            ExtensionType::Plugin => {
                let f = folder
                    .map(|f| f.trim().to_ascii_lowercase())
                    .filter(|f| !f.is_empty())
                    .ok_or(IdentityError::MissingFolder)?;
                if !valid_token(&f) {
                    return Err(IdentityError::BadElement(f));
                }
                Some(f)
            }
            _ => None,
        };
        let full_name = match kind {
            ExtensionType::Plugin => {
                format!("plg_{}_{}", folder.as_deref().unwrap_or_default(), element)
            }
            // These elements already carry their prefix in Joomla (`com_x`, `mod_x`, `pkg_x`).
            ExtensionType::Component | ExtensionType::Module | ExtensionType::Package => {
                if element.starts_with(kind.prefix()) {
                    element.clone()
                } else {
                    format!("{}{}", kind.prefix(), element)
                }
            }
            _ if element.starts_with(kind.prefix()) => element.clone(),
            _ => format!("{}{}", kind.prefix(), element),
        };
        let element = match kind {
            // Joomla itself adds these prefixes when it installs one.
            ExtensionType::Component | ExtensionType::Module | ExtensionType::Package
                if !element.starts_with(kind.prefix()) =>
            {
                format!("{}{}", kind.prefix(), element)
            }
            _ => element,
        };
        Ok(Identity {
            full_name,
            element,
            kind,
            client,
            folder,
        })
    }

    /// The type a full name announces by its prefix (`plg_` → plugin), if any.
    pub fn type_of_full_name(full_name: &str) -> Result<ExtensionType, IdentityError> {
        let bad = || IdentityError::BadFullName(full_name.to_string());
        if !valid_token(full_name) {
            return Err(bad());
        }
        let (prefix, rest) = full_name.split_once('_').ok_or_else(bad)?;
        if rest.is_empty() {
            return Err(bad());
        }
        Ok(match prefix {
            "com" => ExtensionType::Component,
            "mod" => ExtensionType::Module,
            "plg" => ExtensionType::Plugin,
            "pkg" => ExtensionType::Package,
            "lib" => ExtensionType::Library,
            "file" => ExtensionType::File,
            "tpl" => ExtensionType::Template,
            "lang" => ExtensionType::Language,
            _ => return Err(bad()),
        })
    }
}

/// The `client` Joomla assumes for a type when the manifest does not say.
pub fn default_client(kind: ExtensionType) -> Client {
    match kind {
        ExtensionType::Component => Client::Administrator,
        _ => Client::Site,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_names_follow_joomla_conventions() {
        let cases = [
            (
                "com_foo",
                ExtensionType::Component,
                Client::Administrator,
                None,
                "com_foo",
                "com_foo",
            ),
            (
                "foo",
                ExtensionType::Component,
                Client::Administrator,
                None,
                "com_foo",
                "com_foo",
            ),
            (
                "mod_foo",
                ExtensionType::Module,
                Client::Site,
                None,
                "mod_foo",
                "mod_foo",
            ),
            (
                "foo",
                ExtensionType::Plugin,
                Client::Site,
                Some("system"),
                "plg_system_foo",
                "foo",
            ),
            (
                "pkg_foo",
                ExtensionType::Package,
                Client::Site,
                None,
                "pkg_foo",
                "pkg_foo",
            ),
            (
                "foo",
                ExtensionType::Library,
                Client::Site,
                None,
                "lib_foo",
                "foo",
            ),
            (
                "foo",
                ExtensionType::Template,
                Client::Site,
                None,
                "tpl_foo",
                "foo",
            ),
            (
                "file_foo",
                ExtensionType::File,
                Client::Site,
                None,
                "file_foo",
                "file_foo",
            ),
        ];
        for (element, kind, client, folder, full, el) in cases {
            let id = Identity::new(element, kind, client, folder).unwrap();
            assert_eq!(id.full_name, full);
            assert_eq!(id.element, el);
            assert_eq!(Identity::type_of_full_name(full).unwrap(), kind);
        }
    }

    #[test]
    fn bad_names_are_refused() {
        assert_eq!(
            Identity::new("foo", ExtensionType::Plugin, Client::Site, None),
            Err(IdentityError::MissingFolder)
        );
        assert!(
            Identity::new(
                "../etc",
                ExtensionType::Component,
                Client::Administrator,
                None
            )
            .is_err()
        );
        for bad in ["foo", "xyz_foo", "com_", "com_a/b", "", "com_a b"] {
            assert!(Identity::type_of_full_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ecosystems_by_name_and_by_the_form_of_a_product_name() {
        for e in Ecosystem::ALL {
            assert_eq!(e.as_str().parse::<Ecosystem>(), Ok(e));
        }
        assert!("npm".parse::<Ecosystem>().is_err());
        for (name, e) in [
            ("com_foo", Ecosystem::Joomla),
            ("plg_system_foo", Ecosystem::Joomla),
            ("acme/widgets", Ecosystem::Composer),
            ("acme-widgets", Ecosystem::WordPress),
        ] {
            assert_eq!(Ecosystem::of_name(name), e, "{name}");
        }
    }

    #[test]
    fn every_type_has_its_name_and_its_prefix() {
        use ExtensionType::*;
        for (kind, name) in [
            (Component, "component"),
            (Module, "module"),
            (Plugin, "plugin"),
            (Package, "package"),
            (Library, "library"),
            (File, "file"),
            (Template, "template"),
            (Language, "language"),
        ] {
            assert_eq!(kind.as_str(), name);
            assert_eq!(kind.to_string(), name);
            let full_name = format!("{}x", kind.prefix());
            assert_eq!(Identity::type_of_full_name(&full_name).unwrap(), kind);
        }
    }
}
