//! Akeeba Release System (ARS 7, the last release; the columns read here are also in ARS 2–6)
//! in a Joomla site's database: categories, releases and items, update streams, environments,
//! Download IDs and the view levels that guard them (`akeeba/release-system`,
//! `component/backend/sql/install.mysql.utf8.sql`).

use std::collections::HashMap;

use sqlx::{AssertSqlSafe, Row};

use crate::site::user_from_row;
use crate::{JoomlaError, JoomlaSite, JoomlaUser};

/// An ARS update stream: what one Joomla update site (`…task=stream&id=N`) lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArsStream {
    pub id: i64,
    pub name: String,
    /// Its URL segment in the site's search-engine-friendly URLs.
    pub alias: String,
    /// `components`, `libraries`, `modules`, `packages`, `plugins`, `files`, `templates`.
    pub kind: String,
    pub element: String,
    /// 0 site, 1 administrator.
    pub client_id: i64,
    /// The plugin group, for plugins.
    pub folder: String,
    pub published: bool,
}

impl ArsStream {
    /// The Joomla full name of the stream's extension (`plg_system_foo`, `com_foo`…), the
    /// name depot knows extensions by; `None` for an unknown type.
    pub fn extension_name(&self) -> Option<String> {
        let element = self.element.trim().to_lowercase();
        let prefixed = |prefix: &str| {
            if element.starts_with(prefix) {
                element.clone()
            } else {
                format!("{prefix}{element}")
            }
        };
        Some(match self.kind.as_str() {
            "components" => prefixed("com_"),
            "modules" => prefixed("mod_"),
            "packages" => prefixed("pkg_"),
            "libraries" => prefixed("lib_"),
            "files" => prefixed("file_"),
            "templates" => prefixed("tpl_"),
            "plugins" => {
                let folder = self.folder.trim().to_lowercase();
                match element.strip_prefix(&format!("plg_{folder}_")) {
                    Some(_) => element.clone(),
                    None => format!("plg_{folder}_{element}"),
                }
            }
            _ => return None,
        })
    }
}

/// An ARS item (a file or a link of a release), with its release and category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArsItem {
    pub id: i64,
    /// `file` or `link`.
    pub kind: String,
    /// For a file: its path relative to the category's directory.
    pub filename: String,
    pub stream: Option<i64>,
    /// Ids of `#__ars_environments`.
    pub environments: Vec<i64>,
    pub access: i64,
    pub published: bool,
    pub release: ArsRelease,
    pub category: ArsCategory,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArsRelease {
    pub id: i64,
    pub version: String,
    /// `alpha`, `beta`, `rc`, `stable`.
    pub maturity: String,
    pub notes: String,
    pub access: i64,
    pub published: bool,
    /// When it was created, in milliseconds since the epoch (ARS's release date).
    pub created_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArsCategory {
    pub id: i64,
    pub title: String,
    /// Where its files are: relative to the site's root, or absolute.
    pub directory: String,
    pub access: i64,
    pub published: bool,
}

impl ArsItem {
    /// Whether ARS itself would offer it: published, with its release and category.
    pub fn offered(&self) -> bool {
        self.published && self.release.published && self.category.published
    }

    /// The view level that guards it: the first of item, release and category that is not
    /// Public (1) or Guest (5), which anyone may see; `None` when it is free.
    pub fn guarding_level(&self) -> Option<i64> {
        [self.access, self.release.access, self.category.access]
            .into_iter()
            .find(|&a| a > 0 && a != PUBLIC_LEVEL && a != GUEST_LEVEL)
    }
}

/// Joomla's built-in view levels anyone has.
pub const PUBLIC_LEVEL: i64 = 1;
pub const GUEST_LEVEL: i64 = 5;

/// A Joomla view level (`#__viewlevels`): the groups whose members see what it guards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewLevel {
    pub id: i64,
    pub title: String,
    pub groups: Vec<i64>,
}

/// An ARS Download ID. `Debug` leaves the ID itself out: it is a credential.
#[derive(Clone, PartialEq, Eq)]
pub struct ArsDownloadId {
    pub id: i64,
    pub user: JoomlaUser,
    /// The user's main Download ID (one per user); the others are add-on IDs.
    pub primary: bool,
    pub title: String,
    dlid: String,
    pub published: bool,
}

impl std::fmt::Debug for ArsDownloadId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArsDownloadId")
            .field("id", &self.id)
            .field("user", &self.user.id)
            .field("primary", &self.primary)
            .field("title", &self.title)
            .finish_non_exhaustive()
    }
}

impl ArsDownloadId {
    /// The string a site sends as `dlid`: the ID for a main one, `user_id:ID` for an add-on.
    pub fn as_sent(&self) -> String {
        if self.primary {
            self.dlid.clone()
        } else {
            format!("{}:{}", self.user.id, self.dlid)
        }
    }
}

/// The integers in a list as ARS stored it over the years (`1,2`, `["1","2"]`, `[1,2]`).
pub fn id_list(text: &str) -> Vec<i64> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// The Joomla majors among environments' `xmltitle`s (`joomla/4.0`, `joomla/3`), sorted.
pub fn joomla_majors(xmltitles: &[&str]) -> Vec<u32> {
    let mut majors: Vec<u32> = xmltitles
        .iter()
        .filter_map(|t| t.trim().strip_prefix("joomla/"))
        .filter_map(|v| v.split('.').next()?.parse().ok())
        .collect();
    majors.sort_unstable();
    majors.dedup();
    majors
}

impl JoomlaSite {
    pub async fn ars_streams(&self) -> Result<Vec<ArsStream>, JoomlaError> {
        let sql = format!(
            "SELECT {}, {}, {}, {}, {}, COALESCE({}, ''), {}, {} FROM {} s",
            self.int("s.id"),
            self.text(&self.col("s", "name")),
            self.text(&self.col("s", "type")),
            self.text(&self.col("s", "element")),
            self.int(&self.col("s", "client_id")),
            self.text(&self.col("s", "folder")),
            self.int(&self.col("s", "published")),
            self.text(&self.col("s", "alias")),
            self.table("ars_updatestreams"),
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ArsStream {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    element: r.try_get(3)?,
                    client_id: r.try_get(4)?,
                    folder: r.try_get(5)?,
                    published: r.try_get::<i64, _>(6)? != 0,
                    alias: r.try_get(7)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(JoomlaError::from)
    }

    /// Every item with its release and category, oldest release first.
    pub async fn ars_items(&self) -> Result<Vec<ArsItem>, JoomlaError> {
        let c = |a: &str, col: &str| self.text(&self.col(a, col));
        let i = |a: &str, col: &str| self.int(&self.col(a, col));
        let sql = format!(
            "SELECT {}, COALESCE({}, ''), COALESCE({}, ''), {}, COALESCE({}, ''), {}, {}, \
             {}, {}, {}, COALESCE({}, ''), {}, {}, \
             {}, {}, {}, {}, {}, {} \
             FROM {} i JOIN {} r ON r.{id} = i.{rel} JOIN {} c ON c.{id} = r.{cat} \
             ORDER BY r.{id}, i.{id}",
            i("i", "id"),
            c("i", "type"),
            c("i", "filename"),
            i("i", "updatestream"),
            c("i", "environments"),
            i("i", "access"),
            i("i", "published"),
            i("r", "id"),
            c("r", "version"),
            c("r", "maturity"),
            c("r", "notes"),
            i("r", "access"),
            i("r", "published"),
            i("c", "id"),
            c("c", "title"),
            c("c", "directory"),
            i("c", "access"),
            i("c", "published"),
            self.epoch_secs(&self.col("r", "created")),
            self.table("ars_items"),
            self.table("ars_releases"),
            self.table("ars_categories"),
            id = self.q("id"),
            rel = self.q("release_id"),
            cat = self.q("category_id"),
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ArsItem {
                    id: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    filename: r.try_get(2)?,
                    stream: r.try_get::<Option<i64>, _>(3)?.filter(|&s| s > 0),
                    environments: id_list(&r.try_get::<String, _>(4)?),
                    access: r.try_get(5)?,
                    published: r.try_get::<i64, _>(6)? == 1,
                    release: ArsRelease {
                        id: r.try_get(7)?,
                        version: r.try_get(8)?,
                        maturity: r.try_get(9)?,
                        notes: r.try_get(10)?,
                        access: r.try_get(11)?,
                        published: r.try_get::<i64, _>(12)? == 1,
                        created_at: r
                            .try_get::<Option<i64>, _>(18)?
                            .filter(|&s| s > 0)
                            .map(|s| s * 1000),
                    },
                    category: ArsCategory {
                        id: r.try_get(13)?,
                        title: r.try_get(14)?,
                        directory: r.try_get(15)?,
                        access: r.try_get(16)?,
                        published: r.try_get::<i64, _>(17)? == 1,
                    },
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(JoomlaError::from)
    }

    /// Environment id → its `xmltitle` (`joomla/4.0`).
    pub async fn ars_environments(&self) -> Result<HashMap<i64, String>, JoomlaError> {
        let sql = format!(
            "SELECT {}, {} FROM {}",
            self.int(&self.q("id")),
            self.text(&self.q("xmltitle")),
            self.table("ars_environments"),
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(JoomlaError::from)
    }

    /// Every Download ID, with its user.
    pub async fn ars_download_ids(&self) -> Result<Vec<ArsDownloadId>, JoomlaError> {
        let sql = format!(
            "SELECT {}, {}, {}, {}, {}, {} FROM {} d JOIN {} u ON u.{id} = d.{user}",
            self.user_columns(),
            self.int(&self.col("d", "id")),
            self.int(&self.col("d", "primary")),
            self.text(&self.col("d", "title")),
            self.text(&self.col("d", "dlid")),
            self.int(&self.col("d", "published")),
            self.table("ars_dlidlabels"),
            self.table("users"),
            id = self.q("id"),
            user = self.q("user_id"),
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ArsDownloadId {
                    user: user_from_row(r)?,
                    id: r.try_get(6)?,
                    primary: r.try_get::<i64, _>(7)? != 0,
                    title: r.try_get(8)?,
                    dlid: r.try_get::<String, _>(9)?.trim().to_string(),
                    published: r.try_get::<i64, _>(10)? == 1,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(JoomlaError::from)
    }

    /// Joomla's view levels (`#__viewlevels`), with the groups each grants.
    pub async fn view_levels(&self) -> Result<Vec<ViewLevel>, JoomlaError> {
        let sql = format!(
            "SELECT {}, {}, {} FROM {}",
            self.int(&self.q("id")),
            self.text(&self.q("title")),
            self.text(&self.q("rules")),
            self.table("viewlevels"),
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ViewLevel {
                    id: r.try_get(0)?,
                    title: r.try_get(1)?,
                    groups: id_list(&r.try_get::<String, _>(2)?),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(JoomlaError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(kind: &str, element: &str, folder: &str) -> ArsStream {
        ArsStream {
            id: 1,
            name: "x".into(),
            alias: "x".into(),
            kind: kind.into(),
            element: element.into(),
            client_id: 1,
            folder: folder.into(),
            published: true,
        }
    }

    #[test]
    fn streams_name_their_extension_as_joomla_does() {
        for (kind, element, folder, name) in [
            ("components", "com_akeeba", "", "com_akeeba"),
            ("components", "akeeba", "", "com_akeeba"),
            ("packages", "pkg_akeeba", "", "pkg_akeeba"),
            ("modules", "mod_latest", "", "mod_latest"),
            (
                "plugins",
                "akeebabackup",
                "system",
                "plg_system_akeebabackup",
            ),
            ("plugins", "plg_system_x", "system", "plg_system_x"),
            ("templates", "shine", "", "tpl_shine"),
            ("libraries", "fof40", "", "lib_fof40"),
            ("files", "file_fef", "", "file_fef"),
        ] {
            assert_eq!(
                stream(kind, element, folder).extension_name().as_deref(),
                Some(name),
                "{kind} {element}"
            );
        }
        assert_eq!(stream("languages", "x", "").extension_name(), None);
    }

    #[test]
    fn lists_and_environments() {
        assert_eq!(id_list("[\"4\",\"32\"]"), vec![4, 32]);
        assert_eq!(id_list("1,2, 3"), vec![1, 2, 3]);
        assert_eq!(id_list(""), Vec::<i64>::new());
        assert_eq!(
            joomla_majors(&[
                "joomla/4.0",
                "joomla/3",
                "php/8.0",
                "joomla/4.1",
                "joomla/5.0"
            ]),
            vec![3, 4, 5]
        );
    }

    #[test]
    fn the_guarding_level_is_the_first_that_is_not_public() {
        let mut item = ArsItem {
            id: 1,
            kind: "file".into(),
            filename: "a.zip".into(),
            stream: None,
            environments: vec![],
            access: 1,
            published: true,
            release: ArsRelease {
                id: 1,
                version: "1.0.0".into(),
                maturity: "stable".into(),
                notes: String::new(),
                access: 1,
                published: true,
                created_at: None,
            },
            category: ArsCategory {
                id: 1,
                title: "c".into(),
                directory: "files".into(),
                access: 3,
                published: true,
            },
        };
        assert_eq!(item.guarding_level(), Some(3));
        item.category.access = 5;
        assert_eq!(item.guarding_level(), None);
        item.release.access = 7;
        assert_eq!(item.guarding_level(), Some(7));
        assert!(item.offered());
        item.release.published = false;
        assert!(!item.offered());
    }
}
