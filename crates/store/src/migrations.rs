//! One list of migrations for both backends.
//!
//! The SQL is the common subset of SQLite and PostgreSQL, written once. The only dialect difference
//! the schema needs, an auto-increment primary key, is spelled `{id}` and expanded per backend.
//! Every integer is `BIGINT` (64-bit on both), times are Unix milliseconds and flags are 0/1,
//! because the sqlx `Any` driver decodes exactly those types the same way on both backends.
//!
//! Where the dialects cannot share a statement (SQLite cannot drop a constraint, so a table is
//! rebuilt), a statement starting `{sqlite} ` or `{postgres} ` runs on that backend only.

use sqlx::{Any, AssertSqlSafe, Executor, Transaction};

use crate::{Backend, Store, StoreError};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "catalogue, artifacts, tokens, events",
        sql: r#"
CREATE TABLE catalogue_state (
    id BIGINT PRIMARY KEY,
    generation BIGINT NOT NULL
);
INSERT INTO catalogue_state (id, generation) VALUES (1, 0);

CREATE TABLE extensions (
    id {id},
    name TEXT NOT NULL UNIQUE,
    element TEXT NOT NULL,
    ext_type TEXT NOT NULL,
    client TEXT NOT NULL,
    folder TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL,
    description TEXT,
    info_url TEXT,
    default_targets TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX extensions_joomla_identity ON extensions (element, ext_type, client, folder);

CREATE TABLE releases (
    id {id},
    extension_id BIGINT NOT NULL REFERENCES extensions (id) ON DELETE CASCADE,
    version TEXT NOT NULL,
    stability TEXT NOT NULL,
    targets TEXT NOT NULL,
    php_minimum TEXT,
    supported_databases TEXT,
    notes TEXT,
    state TEXT NOT NULL,
    published_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (extension_id, version)
);

CREATE TABLE artifacts (
    id {id},
    release_id BIGINT NOT NULL UNIQUE REFERENCES releases (id) ON DELETE CASCADE,
    package_id TEXT NOT NULL UNIQUE,
    storage_key TEXT NOT NULL,
    filename TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    sha384 TEXT NOT NULL,
    sha512 TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id {id},
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL,
    extensions TEXT,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);

CREATE TABLE download_events (
    id {id},
    artifact_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    status BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    user_id BIGINT,
    key_id BIGINT,
    error_code TEXT
);
CREATE INDEX download_events_at ON download_events (at);
CREATE INDEX download_events_artifact_at ON download_events (artifact_id, at);

CREATE TABLE feed_checks (
    extension_id BIGINT NOT NULL,
    joomla_version TEXT NOT NULL,
    day TEXT NOT NULL,
    checks BIGINT NOT NULL,
    PRIMARY KEY (extension_id, joomla_version, day)
);
"#,
    },
    Migration {
        version: 2,
        name: "users, groups, memberships, package groups, keys",
        sql: r#"
CREATE TABLE users (
    id {id},
    email TEXT NOT NULL UNIQUE,
    name TEXT,
    password_hash TEXT,
    disabled BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE user_groups (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE memberships (
    id {id},
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    valid_from BIGINT NOT NULL,
    valid_until BIGINT,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX memberships_user ON memberships (user_id, group_id);

CREATE TABLE package_groups (
    id {id},
    name TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    seed TEXT NOT NULL,
    policy TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE package_group_members (
    package_group_id BIGINT NOT NULL REFERENCES package_groups (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (package_group_id, group_id)
);

CREATE TABLE jbackend_key_versions (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    package_group_id BIGINT NOT NULL REFERENCES package_groups (id) ON DELETE CASCADE,
    version BIGINT NOT NULL,
    PRIMARY KEY (user_id, package_group_id)
);

CREATE TABLE download_keys (
    id {id},
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    version BIGINT NOT NULL,
    revoked_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX download_keys_live_label ON download_keys (user_id, label) WHERE revoked_at IS NULL;

ALTER TABLE extensions ADD COLUMN package_group_id BIGINT REFERENCES package_groups (id);
"#,
    },
    Migration {
        version: 3,
        name: "rate limits shared by all instances",
        sql: r#"
CREATE TABLE rate_limits (
    bucket TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
CREATE INDEX rate_limits_window ON rate_limits (window_start);
"#,
    },
    Migration {
        version: 4,
        name: "mail outbox",
        sql: r#"
CREATE TABLE mail_outbox (
    id {id},
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    package_group_id BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until BIGINT,
    done_at BIGINT,
    outcome TEXT,
    last_error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX mail_outbox_due ON mail_outbox (done_at, next_attempt_at);
"#,
    },
    Migration {
        version: 5,
        name: "download log indexes for the admin queries",
        sql: r#"
CREATE INDEX download_events_artifact_id ON download_events (artifact_id, id);
CREATE INDEX download_events_user_id ON download_events (user_id, id);
CREATE INDEX download_events_key_id ON download_events (key_id, id);
CREATE INDEX feed_checks_day ON feed_checks (day);
"#,
    },
    Migration {
        version: 6,
        name: "access generation, for caching entitlement checks",
        sql: r#"
CREATE TABLE access_state (
    id BIGINT PRIMARY KEY,
    generation BIGINT NOT NULL
);
INSERT INTO access_state (id, generation) VALUES (1, 0);
"#,
    },
    Migration {
        version: 7,
        name: "audit log",
        sql: r#"
CREATE TABLE audit_log (
    id {id},
    at BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id BIGINT,
    actor_name TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_subject ON audit_log (subject, id);
"#,
    },
    Migration {
        version: 8,
        name: "console sign-in: administrators and sessions",
        sql: r#"
ALTER TABLE users ADD COLUMN is_admin BIGINT NOT NULL DEFAULT 0;
CREATE TABLE sessions (
    id {id},
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id),
    scope TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
"#,
    },
    Migration {
        version: 9,
        name: "customer accounts: e-mailed password links",
        sql: r#"
CREATE TABLE password_links (
    id {id},
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX password_links_user ON password_links (user_id);
"#,
    },
    Migration {
        version: 10,
        name: "sessions remember the address they began from",
        sql: r#"
ALTER TABLE sessions ADD COLUMN ip TEXT;
"#,
    },
    Migration {
        version: 11,
        name: "users, groups and memberships mirrored from a Joomla site",
        sql: r#"
ALTER TABLE users ADD COLUMN joomla_id BIGINT;
CREATE UNIQUE INDEX users_joomla_id ON users (joomla_id);
ALTER TABLE user_groups ADD COLUMN source TEXT NOT NULL DEFAULT 'depot';
ALTER TABLE memberships ADD COLUMN last_seen_at BIGINT;
CREATE INDEX memberships_open ON memberships (source, valid_until);
CREATE TABLE identity_sync (
    id BIGINT PRIMARY KEY,
    locked_until BIGINT NOT NULL,
    last_attempt_at BIGINT,
    last_success_at BIGINT,
    last_error TEXT,
    users BIGINT NOT NULL,
    memberships BIGINT NOT NULL
);
INSERT INTO identity_sync (id, locked_until, users, memberships) VALUES (1, 0, 0, 0);
"#,
    },
    Migration {
        version: 12,
        name: "Download IDs and update streams imported from Akeeba Release System",
        sql: r#"
ALTER TABLE download_keys ADD COLUMN imported_hash TEXT;
ALTER TABLE download_keys ADD COLUMN imported_hint TEXT;
CREATE UNIQUE INDEX download_keys_imported ON download_keys (imported_hash);
CREATE TABLE ars_update_streams (
    id BIGINT PRIMARY KEY,
    alias TEXT NOT NULL,
    extension_id BIGINT NOT NULL REFERENCES extensions (id) ON DELETE CASCADE
);
CREATE INDEX ars_update_streams_alias ON ars_update_streams (alias);
"#,
    },
    Migration {
        version: 13,
        name: "daily statistics: downloads per release and outcome, sites checking feeds",
        sql: r#"
CREATE TABLE download_days (
    extension_id BIGINT NOT NULL REFERENCES extensions (id) ON DELETE CASCADE,
    version TEXT NOT NULL,
    day BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    downloads BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    PRIMARY KEY (extension_id, version, day, outcome)
);
CREATE INDEX download_days_day ON download_days (day);
INSERT INTO download_days (extension_id, version, day, outcome, downloads, bytes)
SELECT r.extension_id, r.version, e.at / 86400000, COALESCE(e.error_code, 'served'), COUNT(*), SUM(e.bytes)
FROM download_events e
JOIN artifacts a ON a.id = e.artifact_id
JOIN releases r ON r.id = a.release_id
GROUP BY r.extension_id, r.version, e.at / 86400000, COALESCE(e.error_code, 'served');
CREATE TABLE feed_sites (
    extension_id BIGINT NOT NULL REFERENCES extensions (id) ON DELETE CASCADE,
    day BIGINT NOT NULL,
    site TEXT NOT NULL,
    PRIMARY KEY (extension_id, day, site)
);
CREATE INDEX feed_sites_day ON feed_sites (day);
"#,
    },
    Migration {
        version: 14,
        name: "sales from payment providers: price mappings, customers, events, sales",
        sql: r#"
CREATE TABLE sale_prices (
    provider TEXT NOT NULL,
    price TEXT NOT NULL,
    group_id BIGINT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    term TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (provider, price)
);
CREATE TABLE sale_customers (
    provider TEXT NOT NULL,
    customer TEXT NOT NULL,
    email TEXT NOT NULL,
    PRIMARY KEY (provider, customer)
);
CREATE TABLE sale_events (
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    customer TEXT,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL,
    event TEXT,
    PRIMARY KEY (provider, event_id)
);
CREATE INDEX sale_events_received ON sale_events (received_at);
CREATE INDEX sale_events_waiting ON sale_events (provider, customer, outcome);
CREATE TABLE sales (
    id {id},
    provider TEXT NOT NULL,
    reference TEXT NOT NULL,
    kind TEXT NOT NULL,
    group_id BIGINT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    price TEXT NOT NULL,
    term TEXT NOT NULL,
    membership_id BIGINT REFERENCES memberships (id) ON DELETE SET NULL,
    started_at BIGINT NOT NULL,
    paid_until BIGINT,
    ends_at BIGINT,
    state_at BIGINT NOT NULL,
    ended BIGINT NOT NULL,
    refunded_at BIGINT,
    refund_ends TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (provider, reference, group_id)
);
CREATE INDEX sales_user ON sales (user_id, group_id);
CREATE TABLE sale_refund_refs (
    provider TEXT NOT NULL,
    ref TEXT NOT NULL,
    sale_id BIGINT NOT NULL REFERENCES sales (id) ON DELETE CASCADE,
    PRIMARY KEY (provider, ref, sale_id)
);
"#,
    },
    Migration {
        version: 15,
        name: "webhooks out: endpoints, a durable delivery outbox, every attempt",
        sql: r#"
CREATE TABLE webhook_endpoints (
    id {id},
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL,
    enabled BIGINT NOT NULL,
    disabled_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE webhook_deliveries (
    id {id},
    endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    locked_until BIGINT,
    done_at BIGINT,
    outcome TEXT,
    last_status BIGINT,
    last_error TEXT,
    last_ms BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (done_at, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
"#,
    },
    Migration {
        version: 16,
        name: "customer mails about a membership: ending soon, renewed, ended",
        sql: r#"
ALTER TABLE mail_outbox ADD COLUMN membership_id BIGINT;
ALTER TABLE memberships ADD COLUMN ending_notice_at BIGINT;
ALTER TABLE memberships ADD COLUMN ended_notice_at BIGINT;
CREATE INDEX memberships_until ON memberships (valid_until);
"#,
    },
    Migration {
        version: 17,
        name: "feed fragments",
        sql: r#"
CREATE TABLE feed_fragments (
    release_id BIGINT PRIMARY KEY REFERENCES releases (id) ON DELETE CASCADE,
    extension_id BIGINT NOT NULL,
    rendered_from TEXT NOT NULL,
    release_updated_at BIGINT NOT NULL,
    sort_key TEXT NOT NULL,
    digest TEXT NOT NULL
);
CREATE INDEX feed_fragments_order ON feed_fragments (extension_id, sort_key, release_id, digest);
CREATE TABLE feed_fragment_bodies (
    release_id BIGINT PRIMARY KEY REFERENCES feed_fragments (release_id) ON DELETE CASCADE,
    updates TEXT NOT NULL,
    changelog TEXT NOT NULL
);
CREATE INDEX releases_by_state ON releases (extension_id, state, updated_at);
"#,
    },
    Migration {
        version: 18,
        name: "signed artifacts",
        sql: r#"
CREATE TABLE signing_keys (
    key_id TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    first_used_at BIGINT NOT NULL
);
CREATE TABLE artifact_signatures (
    artifact_id BIGINT PRIMARY KEY REFERENCES artifacts (id) ON DELETE CASCADE,
    key_id TEXT NOT NULL,
    minisig TEXT NOT NULL,
    signed_at BIGINT NOT NULL
);
"#,
    },
    Migration {
        version: 19,
        name: "products of other ecosystems: Composer packages",
        sql: r#"
ALTER TABLE extensions ADD COLUMN ecosystem TEXT NOT NULL DEFAULT 'joomla';
ALTER TABLE artifacts ADD COLUMN sha1 TEXT;
ALTER TABLE artifacts ADD COLUMN manifest TEXT;
"#,
    },
    Migration {
        version: 20,
        name: "private feeds of a package group",
        sql: r#"
ALTER TABLE package_groups ADD COLUMN private_feeds BIGINT NOT NULL DEFAULT 0;
"#,
    },
    Migration {
        version: 21,
        name: "staged rollouts",
        sql: r#"
ALTER TABLE releases ADD COLUMN rollout TEXT;
ALTER TABLE releases ADD COLUMN rollout_started_at BIGINT;
ALTER TABLE releases ADD COLUMN rollout_paused_at BIGINT;
"#,
    },
    Migration {
        version: 22,
        name: "several artifacts per release: an application's builds per platform",
        // `artifacts.release_id` was UNIQUE. PostgreSQL drops the constraint; SQLite rebuilds
        // the table, keeping the signatures that the drop would cascade away.
        sql: r#"
{postgres} ALTER TABLE artifacts DROP CONSTRAINT artifacts_release_id_key;
{sqlite} CREATE TABLE artifacts_rebuilt (
    id {id},
    release_id BIGINT NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    package_id TEXT NOT NULL UNIQUE,
    storage_key TEXT NOT NULL,
    filename TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    sha384 TEXT NOT NULL,
    sha512 TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    sha1 TEXT,
    manifest TEXT
);
{sqlite} INSERT INTO artifacts_rebuilt (id, release_id, package_id, storage_key, filename, size, sha256, sha384, sha512, created_at, sha1, manifest)
SELECT id, release_id, package_id, storage_key, filename, size, sha256, sha384, sha512, created_at, sha1, manifest FROM artifacts;
{sqlite} CREATE TEMP TABLE artifact_signatures_kept AS SELECT artifact_id, key_id, minisig, signed_at FROM artifact_signatures;
{sqlite} DROP TABLE artifacts;
{sqlite} ALTER TABLE artifacts_rebuilt RENAME TO artifacts;
{sqlite} INSERT INTO artifact_signatures (artifact_id, key_id, minisig, signed_at)
SELECT artifact_id, key_id, minisig, signed_at FROM artifact_signatures_kept;
{sqlite} DROP TABLE artifact_signatures_kept;
ALTER TABLE artifacts ADD COLUMN platform TEXT NOT NULL DEFAULT '';
ALTER TABLE artifacts ADD COLUMN vendor_signature TEXT;
CREATE UNIQUE INDEX artifacts_per_platform ON artifacts (release_id, platform);
CREATE UNIQUE INDEX artifacts_per_filename ON artifacts (release_id, filename);
"#,
    },
    Migration {
        version: 23,
        name: "a release's security level (Joomla's <security>)",
        sql: r#"
ALTER TABLE releases ADD COLUMN security BIGINT;
"#,
    },
    Migration {
        version: 24,
        name: "an extension's feed version, moved by every write to its releases and artifacts",
        // Triggers rather than code in each write path: a feed kept past a write it missed
        // would offer sites a yanked release. (SQLite drops a table's triggers when a later
        // migration rebuilds the table: such a migration must create them again.)
        sql: r#"
ALTER TABLE extensions ADD COLUMN feed_version BIGINT NOT NULL DEFAULT 0;
{sqlite} CREATE TRIGGER releases_feed_insert AFTER INSERT ON releases BEGIN UPDATE extensions SET feed_version = feed_version + 1 WHERE id = NEW.extension_id; END;
{sqlite} CREATE TRIGGER releases_feed_update AFTER UPDATE ON releases BEGIN UPDATE extensions SET feed_version = feed_version + 1 WHERE id IN (OLD.extension_id, NEW.extension_id); END;
{sqlite} CREATE TRIGGER releases_feed_delete AFTER DELETE ON releases BEGIN UPDATE extensions SET feed_version = feed_version + 1 WHERE id = OLD.extension_id; END;
{sqlite} CREATE TRIGGER artifacts_feed_insert AFTER INSERT ON artifacts BEGIN UPDATE extensions SET feed_version = feed_version + 1 WHERE id IN (SELECT extension_id FROM releases WHERE id = NEW.release_id); END;
{sqlite} CREATE TRIGGER artifacts_feed_update AFTER UPDATE ON artifacts BEGIN UPDATE extensions SET feed_version = feed_version + 1 WHERE id IN (SELECT extension_id FROM releases WHERE id IN (OLD.release_id, NEW.release_id)); END;
{sqlite} CREATE TRIGGER artifacts_feed_delete AFTER DELETE ON artifacts BEGIN UPDATE extensions SET feed_version = feed_version + 1 WHERE id IN (SELECT extension_id FROM releases WHERE id = OLD.release_id); END;
{postgres} CREATE FUNCTION depot_release_feed_moved() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'INSERT' THEN UPDATE extensions SET feed_version = feed_version + 1 WHERE id = OLD.extension_id; END IF; IF TG_OP <> 'DELETE' THEN UPDATE extensions SET feed_version = feed_version + 1 WHERE id = NEW.extension_id; END IF; RETURN NULL; END $$;
{postgres} CREATE TRIGGER releases_feed AFTER INSERT OR UPDATE OR DELETE ON releases FOR EACH ROW EXECUTE FUNCTION depot_release_feed_moved();
{postgres} CREATE FUNCTION depot_artifact_feed_moved() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'INSERT' THEN UPDATE extensions SET feed_version = feed_version + 1 WHERE id IN (SELECT extension_id FROM releases WHERE id = OLD.release_id); END IF; IF TG_OP <> 'DELETE' THEN UPDATE extensions SET feed_version = feed_version + 1 WHERE id IN (SELECT extension_id FROM releases WHERE id = NEW.release_id); END IF; RETURN NULL; END $$;
{postgres} CREATE TRIGGER artifacts_feed AFTER INSERT OR UPDATE OR DELETE ON artifacts FOR EACH ROW EXECUTE FUNCTION depot_artifact_feed_moved();
"#,
    },
    Migration {
        version: 25,
        name: "the releases behind each move of an extension's feed version",
        // Each move of `feed_version` logs the release that moved it, so a feed can be patched
        // by the few releases that changed instead of reading the order of all of them. The
        // extension's row is locked from the move to the commit, so an extension's versions
        // commit in order and a version read committed has every change up to it committed.
        // A move can name two releases (an artifact moved between them). The last 256 moves
        // per extension are kept; an instance further behind reads the order in full.
        sql: r#"
CREATE TABLE feed_changes (
    extension_id BIGINT NOT NULL,
    feed_version BIGINT NOT NULL,
    release_id BIGINT NOT NULL,
    PRIMARY KEY (extension_id, feed_version, release_id)
);
CREATE INDEX releases_rolling_out ON releases (extension_id) WHERE rollout IS NOT NULL;
{sqlite} DROP TRIGGER releases_feed_insert;
{sqlite} DROP TRIGGER releases_feed_update;
{sqlite} DROP TRIGGER releases_feed_delete;
{sqlite} DROP TRIGGER artifacts_feed_insert;
{sqlite} DROP TRIGGER artifacts_feed_update;
{sqlite} DROP TRIGGER artifacts_feed_delete;
{sqlite} CREATE TRIGGER releases_feed_insert AFTER INSERT ON releases BEGIN UPDATE extensions SET feed_version = feed_version + 1 WHERE id = NEW.extension_id; INSERT INTO feed_changes (extension_id, feed_version, release_id) SELECT id, feed_version, NEW.id FROM extensions WHERE id = NEW.extension_id; DELETE FROM feed_changes WHERE extension_id = NEW.extension_id AND feed_version < (SELECT feed_version - 255 FROM extensions WHERE id = NEW.extension_id); END;
{sqlite} CREATE TRIGGER releases_feed_update AFTER UPDATE ON releases BEGIN UPDATE extensions SET feed_version = feed_version + 1 WHERE id IN (OLD.extension_id, NEW.extension_id); INSERT INTO feed_changes (extension_id, feed_version, release_id) SELECT id, feed_version, NEW.id FROM extensions WHERE id IN (OLD.extension_id, NEW.extension_id); DELETE FROM feed_changes WHERE extension_id IN (OLD.extension_id, NEW.extension_id) AND feed_version < (SELECT e.feed_version - 255 FROM extensions e WHERE e.id = feed_changes.extension_id); END;
{sqlite} CREATE TRIGGER releases_feed_delete AFTER DELETE ON releases BEGIN UPDATE extensions SET feed_version = feed_version + 1 WHERE id = OLD.extension_id; INSERT INTO feed_changes (extension_id, feed_version, release_id) SELECT id, feed_version, OLD.id FROM extensions WHERE id = OLD.extension_id; DELETE FROM feed_changes WHERE extension_id = OLD.extension_id AND feed_version < (SELECT feed_version - 255 FROM extensions WHERE id = OLD.extension_id); END;
{sqlite} CREATE TRIGGER artifacts_feed_insert AFTER INSERT ON artifacts BEGIN UPDATE extensions SET feed_version = feed_version + 1 WHERE id IN (SELECT extension_id FROM releases WHERE id = NEW.release_id); INSERT INTO feed_changes (extension_id, feed_version, release_id) SELECT id, feed_version, NEW.release_id FROM extensions WHERE id IN (SELECT extension_id FROM releases WHERE id = NEW.release_id); DELETE FROM feed_changes WHERE extension_id IN (SELECT extension_id FROM releases WHERE id = NEW.release_id) AND feed_version < (SELECT e.feed_version - 255 FROM extensions e WHERE e.id = feed_changes.extension_id); END;
{sqlite} CREATE TRIGGER artifacts_feed_update AFTER UPDATE ON artifacts BEGIN UPDATE extensions SET feed_version = feed_version + 1 WHERE id IN (SELECT extension_id FROM releases WHERE id IN (OLD.release_id, NEW.release_id)); INSERT INTO feed_changes (extension_id, feed_version, release_id) SELECT e.id, e.feed_version, r.id FROM releases r JOIN extensions e ON e.id = r.extension_id WHERE r.id IN (OLD.release_id, NEW.release_id); DELETE FROM feed_changes WHERE extension_id IN (SELECT extension_id FROM releases WHERE id IN (OLD.release_id, NEW.release_id)) AND feed_version < (SELECT e.feed_version - 255 FROM extensions e WHERE e.id = feed_changes.extension_id); END;
{sqlite} CREATE TRIGGER artifacts_feed_delete AFTER DELETE ON artifacts BEGIN UPDATE extensions SET feed_version = feed_version + 1 WHERE id IN (SELECT extension_id FROM releases WHERE id = OLD.release_id); INSERT INTO feed_changes (extension_id, feed_version, release_id) SELECT id, feed_version, OLD.release_id FROM extensions WHERE id IN (SELECT extension_id FROM releases WHERE id = OLD.release_id); DELETE FROM feed_changes WHERE extension_id IN (SELECT extension_id FROM releases WHERE id = OLD.release_id) AND feed_version < (SELECT e.feed_version - 255 FROM extensions e WHERE e.id = feed_changes.extension_id); END;
{postgres} CREATE FUNCTION depot_feed_moved(extension BIGINT, release BIGINT) RETURNS void LANGUAGE plpgsql AS $$ DECLARE moved BIGINT; BEGIN UPDATE extensions SET feed_version = feed_version + 1 WHERE id = extension RETURNING feed_version INTO moved; IF moved IS NOT NULL THEN INSERT INTO feed_changes (extension_id, feed_version, release_id) VALUES (extension, moved, release); DELETE FROM feed_changes WHERE extension_id = extension AND feed_version < moved - 255; END IF; END $$;
{postgres} CREATE OR REPLACE FUNCTION depot_release_feed_moved() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'INSERT' THEN PERFORM depot_feed_moved(OLD.extension_id, OLD.id); END IF; IF TG_OP <> 'DELETE' THEN PERFORM depot_feed_moved(NEW.extension_id, NEW.id); END IF; RETURN NULL; END $$;
{postgres} CREATE OR REPLACE FUNCTION depot_artifact_feed_moved() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP <> 'INSERT' THEN PERFORM depot_feed_moved(r.extension_id, r.id) FROM releases r WHERE r.id = OLD.release_id; END IF; IF TG_OP <> 'DELETE' THEN PERFORM depot_feed_moved(r.extension_id, r.id) FROM releases r WHERE r.id = NEW.release_id; END IF; RETURN NULL; END $$;
"#,
    },
];

impl Backend {
    fn expand(self, sql: &str) -> String {
        let id = match self {
            Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
            Backend::Postgres => "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        };
        sql.replace("{id}", id)
    }
}

impl Backend {
    /// `stmt` without its backend marker, or `None` when it is marked for the other backend.
    fn own_statement(self, stmt: &str) -> Option<&str> {
        let (ours, theirs) = match self {
            Backend::Sqlite => ("{sqlite} ", "{postgres} "),
            Backend::Postgres => ("{postgres} ", "{sqlite} "),
        };
        match stmt.strip_prefix(ours) {
            Some(rest) => Some(rest),
            None if stmt.starts_with(theirs) => None,
            None => Some(stmt),
        }
    }
}

/// The statements of a migration, split at `;` line ends (the migrations hold no other `;`).
fn statements(sql: &str) -> impl Iterator<Item = &str> {
    sql.split(";\n").map(str::trim).filter(|s| !s.is_empty())
}

impl Store {
    /// Whether depot's schema is here (a migration has run), as opposed to an empty database.
    pub async fn is_initialised(&self) -> bool {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM depot_migrations")
            .fetch_one(&self.pool)
            .await
            .is_ok_and(|n| n > 0)
    }

    /// Applies every migration not yet applied, each in its own transaction. Safe to run from
    /// several processes at once: on PostgreSQL an advisory lock serialises them, on SQLite the
    /// first write takes the database lock.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        self.migrate_up_to(i64::MAX).await
    }

    /// Applies the migrations up to `version` only: a database as an older depot left it (for
    /// the tests of upgrades with data in place).
    pub async fn migrate_up_to(&self, version: i64) -> Result<Vec<i64>, StoreError> {
        let mut applied = Vec::new();
        self.pool
            .execute(
                "CREATE TABLE IF NOT EXISTS depot_migrations (
                    version BIGINT PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_at BIGINT NOT NULL
                )",
            )
            .await?;
        for m in MIGRATIONS.iter().take_while(|m| m.version <= version) {
            let mut tx: Transaction<'_, Any> = self.pool.begin().await?;
            if self.backend == Backend::Postgres {
                tx.execute("SELECT pg_advisory_xact_lock(727465)").await?;
            }
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM depot_migrations WHERE version = $1")
                    .bind(m.version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if done.is_some() {
                tx.rollback().await?;
                continue;
            }
            let sql = self.backend.expand(m.sql);
            for stmt in statements(&sql).filter_map(|s| self.backend.own_statement(s)) {
                sqlx::query(AssertSqlSafe(stmt.to_string()))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| {
                        StoreError::Migration(format!("migration {} ({}): {e}", m.version, m.name))
                    })?;
            }
            sqlx::query(
                "INSERT INTO depot_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(m.version)
            .bind(m.name)
            .bind(self.now_ms())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::info!(version = m.version, name = m.name, "applied migration");
            applied.push(m.version);
        }
        Ok(applied)
    }
}
