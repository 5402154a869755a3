//! The queries depot runs against a Joomla site's database.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, AssertSqlSafe, Row};

use crate::JoomlaGroup;

/// How long a query waits for a connection: a site database that is away must not hold a
/// sign-in for long (the service also bounds each whole query).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum JoomlaError {
    #[error(
        "unsupported Joomla database URL {0:?}: use mysql://… (MySQL, MariaDB) or postgres://…"
    )]
    UnsupportedUrl(String),
    #[error("bad table prefix {0:?}: letters, digits and '_' only (Joomla's `$dbprefix`)")]
    BadPrefix(String),
    /// The site's database cannot be reached for now.
    #[error("the Joomla database is unreachable: {0}")]
    Unavailable(String),
    /// The database answered, but not as a Joomla site's would (a wrong prefix, a missing table).
    #[error("the Joomla database answered unexpectedly: {0}")]
    Schema(String),
}

impl From<sqlx::Error> for JoomlaError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::Database(db) => JoomlaError::Schema(db.message().to_string()),
            sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::ColumnNotFound(_)
            | sqlx::Error::Decode(_)
            | sqlx::Error::TypeNotFound { .. } => JoomlaError::Schema(e.to_string()),
            other => JoomlaError::Unavailable(other.to_string()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dialect {
    MySql,
    Postgres,
}

impl Dialect {
    /// An identifier as the dialect quotes it (Joomla's PostgreSQL schema has camel-case
    /// columns such as `"lastvisitDate"`).
    fn quote(self, name: &str) -> String {
        match self {
            Dialect::MySql => format!("`{name}`"),
            Dialect::Postgres => format!("\"{name}\""),
        }
    }

    /// An integer expression as a 64-bit integer (Joomla's columns are INT, TINYINT, SMALLINT).
    fn int(self, expr: &str) -> String {
        match self {
            Dialect::MySql => format!("CAST({expr} AS SIGNED)"),
            Dialect::Postgres => format!("CAST({expr} AS BIGINT)"),
        }
    }

    /// A string expression as text (PostgreSQL's `character(n)` and enum types are not
    /// strings to the driver; ARS's PostgreSQL schema has both).
    fn text(self, expr: &str) -> String {
        match self {
            Dialect::MySql => format!("CAST({expr} AS CHAR)"),
            Dialect::Postgres => format!("CAST({expr} AS TEXT)"),
        }
    }

    /// A `datetime`/`timestamp` column (Joomla writes UTC) as seconds since the epoch, whatever
    /// the session's time zone; NULL for NULL (and MySQL's zero date).
    fn epoch_secs(self, expr: &str) -> String {
        match self {
            Dialect::MySql => format!("TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', {expr})"),
            Dialect::Postgres => format!("CAST(EXTRACT(EPOCH FROM {expr}) AS BIGINT)"),
        }
    }

    fn param(self, n: usize) -> String {
        match self {
            Dialect::MySql => "?".into(),
            Dialect::Postgres => format!("${n}"),
        }
    }
}

/// A Joomla user as depot mirrors it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoomlaUser {
    pub id: i64,
    pub email: String,
    pub name: String,
    /// `block = 1`, or an activation still pending (an activation code on an account that has
    /// never signed in; a code on one that has is a password reset in progress).
    pub disabled: bool,
}

/// A user and one group they are directly in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoomlaMember {
    pub user: JoomlaUser,
    pub group_id: i64,
}

/// A user found by their sign-in name, with what checking their password needs. `Debug` leaves
/// the hash out.
#[derive(Clone)]
pub struct JoomlaAccount {
    pub user: JoomlaUser,
    pub username: String,
    pub password_hash: String,
    /// The groups the user is directly in.
    pub groups: Vec<i64>,
}

impl std::fmt::Debug for JoomlaAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoomlaAccount")
            .field("user", &self.user)
            .field("username", &self.username)
            .field("groups", &self.groups)
            .finish_non_exhaustive()
    }
}

/// A connection pool to a Joomla site's database. Connects lazily: depot starts, and serves
/// everything that does not need the site, while the site's database is away.
#[derive(Clone, Debug)]
pub struct JoomlaSite {
    pool: AnyPool,
    dialect: Dialect,
    prefix: String,
    users: String,
    groups: String,
    map: String,
}

impl JoomlaSite {
    pub fn connect(url: &str, table_prefix: &str) -> Result<Self, JoomlaError> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            Dialect::MySql
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Dialect::Postgres
        } else {
            return Err(JoomlaError::UnsupportedUrl(redact(url)));
        };
        if table_prefix.is_empty()
            || !table_prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(JoomlaError::BadPrefix(table_prefix.to_string()));
        }
        let url = url.replacen("mariadb://", "mysql://", 1);
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| JoomlaError::UnsupportedUrl(e.to_string()))?;
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .idle_timeout(Duration::from_secs(300))
            .connect_lazy_with(options);
        let table = |name: &str| dialect.quote(&format!("{table_prefix}{name}"));
        Ok(JoomlaSite {
            pool,
            dialect,
            prefix: table_prefix.to_string(),
            users: table("users"),
            groups: table("usergroups"),
            map: table("user_usergroup_map"),
        })
    }

    pub(crate) fn q(&self, name: &str) -> String {
        self.dialect.quote(name)
    }

    /// A table of the site, prefixed and quoted.
    pub(crate) fn table(&self, name: &str) -> String {
        self.dialect.quote(&format!("{}{name}", self.prefix))
    }

    /// `expr` as a 64-bit integer.
    pub(crate) fn int(&self, expr: &str) -> String {
        self.dialect.int(expr)
    }

    /// A date column as seconds since the epoch.
    pub(crate) fn epoch_secs(&self, expr: &str) -> String {
        self.dialect.epoch_secs(expr)
    }

    /// `expr` as text.
    pub(crate) fn text(&self, expr: &str) -> String {
        self.dialect.text(expr)
    }

    /// `column` of `alias`, quoted.
    pub(crate) fn col(&self, alias: &str, column: &str) -> String {
        format!("{alias}.{}", self.q(column))
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The user columns every query reads, from `u`, in `user_from_row`'s order.
    pub(crate) fn user_columns(&self) -> String {
        let d = self.dialect;
        let visited = format!(
            "CASE WHEN u.{} > '1971-01-01' THEN 1 ELSE 0 END",
            self.q("lastvisitDate")
        );
        format!(
            "{}, u.{}, u.{}, {}, COALESCE(u.{}, ''), {}",
            d.int(&format!("u.{}", self.q("id"))),
            self.q("email"),
            self.q("name"),
            d.int(&format!("u.{}", self.q("block"))),
            self.q("activation"),
            d.int(&visited),
        )
    }

    /// Every group of the site.
    pub async fn groups(&self) -> Result<Vec<JoomlaGroup>, JoomlaError> {
        let d = self.dialect;
        let sql = format!(
            "SELECT {}, {}, {} FROM {}",
            d.int(&self.q("id")),
            d.int(&self.q("parent_id")),
            self.q("title"),
            self.groups
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(JoomlaGroup {
                    id: r.try_get(0)?,
                    parent_id: r.try_get(1)?,
                    title: r.try_get(2)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(JoomlaError::from)
    }

    /// Who is directly in any of `groups`, a row per user and group.
    pub async fn members_of(&self, groups: &[i64]) -> Result<Vec<JoomlaMember>, JoomlaError> {
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        // Group ids are integers, so they go into the statement as they are.
        let list = groups
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!(
            "SELECT {}, {} FROM {} u JOIN {} m ON m.{} = u.{} WHERE m.{} IN ({list})",
            self.user_columns(),
            self.dialect.int(&format!("m.{}", self.q("group_id"))),
            self.users,
            self.map,
            self.q("user_id"),
            self.q("id"),
            self.q("group_id"),
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(JoomlaMember {
                    user: user_from_row(r)?,
                    group_id: r.try_get(6)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(JoomlaError::from)
    }

    /// The account whose username is `login`, or else whose e-mail address is (compared
    /// case-insensitively), with its direct groups.
    pub async fn account(&self, login: &str) -> Result<Option<JoomlaAccount>, JoomlaError> {
        let d = self.dialect;
        let sql = format!(
            "SELECT {}, u.{}, u.{} FROM {} u WHERE u.{} = {} OR LOWER(u.{}) = {} LIMIT 2",
            self.user_columns(),
            self.q("username"),
            self.q("password"),
            self.users,
            self.q("username"),
            d.param(1),
            self.q("email"),
            d.param(2),
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(login)
            .bind(login.trim().to_lowercase())
            .fetch_all(&self.pool)
            .await?;
        let mut accounts = rows
            .iter()
            .map(|r| {
                Ok((
                    user_from_row(r)?,
                    r.try_get::<String, _>(6)?,
                    r.try_get::<String, _>(7)?,
                ))
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        // A username that is also someone else's address: the username wins, as on the site.
        accounts.sort_by_key(|(_, username, _)| username != login);
        let Some((user, username, password_hash)) = accounts.into_iter().next() else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT {} FROM {} WHERE {} = {}",
            d.int(&self.q("group_id")),
            self.map,
            self.q("user_id"),
            d.param(1)
        );
        let groups = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(user.id)
            .fetch_all(&self.pool)
            .await?;
        Ok(Some(JoomlaAccount {
            user,
            username,
            password_hash,
            groups,
        }))
    }

    /// A cheap round trip that also proves the tables are there.
    pub async fn check(&self) -> Result<(), JoomlaError> {
        let sql = format!("SELECT COUNT(*) FROM {}", self.groups);
        sqlx::query(AssertSqlSafe(sql))
            .fetch_one(&self.pool)
            .await?;
        Ok(())
    }
}

pub(crate) fn user_from_row(r: &AnyRow) -> Result<JoomlaUser, sqlx::Error> {
    let block: i64 = r.try_get(3)?;
    let activation: String = r.try_get(4)?;
    let visited: i64 = r.try_get(5)?;
    let pending = !activation.is_empty() && activation != "0" && visited == 0;
    Ok(JoomlaUser {
        id: r.try_get(0)?,
        email: r.try_get::<String, _>(1)?.trim().to_lowercase(),
        name: r.try_get(2)?,
        disabled: block != 0 || pending,
    })
}

/// A database URL with its password replaced.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &url[..s + 3], &url[at..]),
        _ => url.to_string(),
    }
}
