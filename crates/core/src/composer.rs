//! Composer packages: their `vendor/name` and what their own `composer.json` says.
//!
//! A Composer package in depot is named exactly as Composer names it (`acme/widgets`), so that
//! `composer require acme/widgets` finds it; the name follows Composer's schema (lower case,
//! one `/`). Its manifest is the `composer.json` at the top of the zip (or inside its single
//! top-level folder, which Composer strips when it unpacks a dist): the repository metadata
//! repeats what it says (`require`, `autoload`, `type`, …) beside the version, `dist` and `time`
//! depot adds, since Composer reads a package's autoloading and requirements from the
//! repository, never from the zip.

use std::fmt;

use serde_json::{Map, Value};

/// A Composer package name, `vendor/package`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PackageName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "{0:?} is not a Composer package name: use vendor/package in lower-case letters and digits, \
     with '.', '_' or '-' between them"
)]
pub struct BadPackageName(pub String);

/// Composer's own name length limit is not in its schema, but Packagist's is 255 in all; depot
/// keeps extension names short enough for every URL and log line.
const MAX_NAME_LEN: usize = 100;

/// A part of `vendor/package` by Composer's schema: `[a-z0-9]` runs joined by a single `.`, `_`
/// or `-` (the package part also allows `--`).
fn valid_part(part: &str, double_dash: bool) -> bool {
    let b = part.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    let mut run = 0;
    let mut previous = 0u8;
    for &c in b {
        match c {
            b'a'..=b'z' | b'0'..=b'9' => run = 0,
            b'.' | b'_' | b'-' => {
                run += 1;
                let dashes = double_dash && c == b'-' && previous == b'-' && run == 2;
                if run > 1 && !dashes {
                    return false;
                }
            }
            _ => return false,
        }
        previous = c;
    }
    true
}

impl PackageName {
    pub fn parse(name: &str) -> Result<Self, BadPackageName> {
        let bad = || BadPackageName(name.to_string());
        let (vendor, package) = name.split_once('/').ok_or_else(bad)?;
        if name.len() > MAX_NAME_LEN || !valid_part(vendor, false) || !valid_part(package, true) {
            return Err(bad());
        }
        Ok(PackageName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `/`: what a dist file is named after.
    pub fn package(&self) -> &str {
        self.0.split_once('/').map(|(_, p)| p).unwrap_or(&self.0)
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a package's `composer.json` says.
#[derive(Clone, Debug, PartialEq)]
pub struct ComposerManifest {
    /// Path of the file inside the zip.
    pub path: String,
    pub name: Option<PackageName>,
    /// The `version` field, rare in a package's own file (Composer takes versions from tags).
    pub version: Option<String>,
    pub description: Option<String>,
    /// Every field the repository metadata repeats, `name`, `version` and the fields depot sets
    /// itself (`dist`, `source`, `time`, …) left out.
    pub metadata: Map<String, Value>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ComposerJsonError {
    #[error("{path} is not valid JSON: {detail}")]
    Malformed { path: String, detail: String },
    #[error("{path} is not a JSON object")]
    NotAnObject { path: String },
    #[error("{path}: {source}")]
    BadName {
        path: String,
        #[source]
        source: BadPackageName,
    },
    #[error("{path}: the field {field:?} must be {expected}")]
    BadField {
        path: String,
        field: &'static str,
        expected: &'static str,
    },
}

/// Fields a repository sets for each version itself; a package's own values are not repeated.
const SET_BY_REPOSITORY: &[&str] = &[
    "name",
    "version",
    "version_normalized",
    "dist",
    "source",
    "time",
    "notification-url",
    "installation-source",
    "repositories",
    "minimum-stability",
    "prefer-stable",
    "config",
];

/// Reads a `composer.json`.
pub fn read_composer_json(path: &str, text: &str) -> Result<ComposerManifest, ComposerJsonError> {
    let value: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
        ComposerJsonError::Malformed {
            path: path.to_string(),
            detail: e.to_string(),
        }
    })?;
    let Value::Object(mut fields) = value else {
        return Err(ComposerJsonError::NotAnObject {
            path: path.to_string(),
        });
    };
    let string = |fields: &Map<String, Value>, field: &'static str| match fields.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Some(_) => Err(ComposerJsonError::BadField {
            path: path.to_string(),
            field,
            expected: "a string",
        }),
    };
    let name = string(&fields, "name")?
        .map(|n| PackageName::parse(&n))
        .transpose()
        .map_err(|source| ComposerJsonError::BadName {
            path: path.to_string(),
            source,
        })?;
    let version = string(&fields, "version")?;
    let description = string(&fields, "description")?;
    for field in [
        "require",
        "require-dev",
        "autoload",
        "conflict",
        "replace",
        "provide",
    ] {
        if fields.get(field).is_some_and(|v| !v.is_object()) {
            return Err(ComposerJsonError::BadField {
                path: path.to_string(),
                field,
                expected: "an object",
            });
        }
    }
    for field in SET_BY_REPOSITORY {
        fields.remove(*field);
    }
    Ok(ComposerManifest {
        path: path.to_string(),
        name,
        version,
        description,
        metadata: fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_composers_schema() {
        for ok in [
            "acme/widgets",
            "acme/widgets-pro",
            "a1/b2",
            "acme.co/my_lib",
            "acme/foo--bar",
            "joomla-vendor/plg-system.x",
        ] {
            let name = PackageName::parse(ok).unwrap();
            assert_eq!(name.as_str(), ok);
        }
        assert_eq!(
            PackageName::parse("acme/widgets").unwrap().package(),
            "widgets"
        );
        for bad in [
            "",
            "acme",
            "Acme/widgets",
            "acme/",
            "/widgets",
            "acme/widgets/x",
            "acme/-widgets",
            "acme/widgets-",
            "acme/wid..gets",
            "ac--me/widgets",
            "acme/wid gets",
            "acme/widgets%2F",
            "com_foo",
        ] {
            assert!(PackageName::parse(bad).is_err(), "{bad}");
        }
        assert!(PackageName::parse(&format!("a/{}", "b".repeat(MAX_NAME_LEN))).is_err());
    }

    #[test]
    fn reads_what_the_repository_repeats() {
        let m = read_composer_json(
            "widgets/composer.json",
            r#"{
                "name": "acme/widgets",
                "description": "Widgets",
                "type": "library",
                "version": "1.2.0",
                "require": {"php": ">=8.1", "psr/log": "^3"},
                "autoload": {"psr-4": {"Acme\\Widgets\\": "src/"}},
                "repositories": [{"type": "vcs", "url": "x"}],
                "config": {"sort-packages": true}
            }"#,
        )
        .unwrap();
        assert_eq!(m.name.unwrap().as_str(), "acme/widgets");
        assert_eq!(m.version.as_deref(), Some("1.2.0"));
        assert_eq!(m.description.as_deref(), Some("Widgets"));
        assert_eq!(m.metadata["require"]["psr/log"], "^3");
        assert_eq!(m.metadata["type"], "library");
        for gone in ["name", "version", "repositories", "config"] {
            assert!(!m.metadata.contains_key(gone), "{gone}");
        }
    }

    #[test]
    fn refuses_what_composer_would_refuse() {
        let err = |text: &str| read_composer_json("composer.json", text).unwrap_err();
        assert!(matches!(err("{"), ComposerJsonError::Malformed { .. }));
        assert!(matches!(err("[]"), ComposerJsonError::NotAnObject { .. }));
        assert!(matches!(
            err(r#"{"name": "Acme/Widgets"}"#),
            ComposerJsonError::BadName { .. }
        ));
        assert!(matches!(
            err(r#"{"name": 5}"#),
            ComposerJsonError::BadField { field: "name", .. }
        ));
        assert!(matches!(
            err(r#"{"require": ["psr/log"]}"#),
            ComposerJsonError::BadField {
                field: "require",
                ..
            }
        ));
        // A byte-order mark is tolerated, as Composer tolerates it.
        assert!(read_composer_json("composer.json", "\u{feff}{}").is_ok());
    }
}
