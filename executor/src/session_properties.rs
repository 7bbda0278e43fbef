//! A session's properties (`SET 'auto.offset.reset' = 'earliest'`): set and shown by the
//! SET and SHOW statements, read by the statements they change (a push query's start).
//! The Postgres settings SHOW answers, with Eddy's values, are here too: SHOW, `pg_settings`
//! and `current_setting` read them.
//!
//! Never: hold a property Eddy does not know; `statements/properties.rs` refuses those.

use std::collections::BTreeMap;

/// Where a push query starts: `latest` (default, new rows only) or `earliest`.
pub const AUTO_OFFSET_RESET: &str = "auto.offset.reset";

/// The IDLE TIMEOUT of the windows of the persistent queries a session creates, when their
/// WINDOW clause sets none (`SET 'eddy.window.idle.timeout' = '30 seconds'`).
pub const WINDOW_IDLE_TIMEOUT: &str = "eddy.window.idle.timeout";

/// One session's properties, by lower-case name.
#[derive(Debug, Default, Clone)]
pub struct SessionProperties {
    values: BTreeMap<String, String>,
    /// What the client's startup packet set (`application_name`): the session's defaults,
    /// which RESET and DISCARD ALL return to, as in Postgres.
    startup: BTreeMap<String, String>,
    /// Who runs the session's statements, as of the statement running.
    identity: Identity,
    /// The open transaction block's modes: None outside a block.
    block: Option<BlockModes>,
}

/// What `BEGIN` or `SET TRANSACTION` set for the open block.
#[derive(Debug, Default, Clone, Copy)]
struct BlockModes {
    /// READ ONLY (true) or READ WRITE (false); None: the session's default holds.
    read_only: Option<bool>,
}

/// The role a session runs as, as `session_authorization`, `is_superuser`, `current_user`
/// and the catalog's privilege functions report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub superuser: bool,
}

impl Default for Identity {
    /// An in-process session: the owner of every object, who may do everything.
    fn default() -> Self {
        Identity {
            user: OWNER_NAME.to_string(),
            superuser: true,
        }
    }
}

/// The role that owns every object (Postgres' bootstrap superuser), which a session let in
/// without a password runs as.
pub const OWNER_NAME: &str = "eddy";

impl SessionProperties {
    /// The value of a property, if set (by SET, or else by the startup packet).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .or_else(|| self.startup.get(name))
            .map(String::as_str)
    }

    /// Sets a session default, as the startup packet does.
    pub fn set_startup(&mut self, name: String, value: String) {
        self.startup.insert(name, value);
    }

    /// Forgets every SET (`RESET ALL`, `DISCARD ALL`); the startup packet's values stay.
    pub fn reset_all(&mut self) {
        self.values.clear();
    }

    pub fn set(&mut self, name: String, value: String) {
        self.values.insert(name, value);
    }

    pub fn unset(&mut self, name: &str) {
        self.values.remove(name);
    }

    /// `eddy.window.idle.timeout` in milliseconds, if set (`set` checked it).
    pub fn window_idle_timeout_ms(&self) -> Option<i64> {
        self.get(WINDOW_IDLE_TIMEOUT)
            .and_then(eddy_parser::parse_duration_text)
            .and_then(|timeout| i64::try_from(timeout.as_millis()).ok())
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    pub fn set_identity(&mut self, identity: Identity) {
        self.identity = identity;
    }

    /// The names of the properties set, in order.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.values.keys()
    }

    /// Whether the current transaction is read only: the open block's mode if it set one
    /// (`BEGIN READ ONLY`), else the session's default (`default_transaction_read_only`).
    pub fn read_only(&self) -> bool {
        self.block
            .and_then(|block| block.read_only)
            .unwrap_or(self.get(DEFAULT_READ_ONLY) == Some("on"))
    }

    /// A transaction block opens (`BEGIN`), READ ONLY or READ WRITE if `read_only` says.
    /// Inside a block, nothing changes, as Postgres ignores a second BEGIN.
    pub(crate) fn begin_block(&mut self, read_only: Option<bool>) {
        if self.block.is_none() {
            self.block = Some(BlockModes { read_only });
        }
    }

    /// Whether a transaction block is open.
    pub(crate) fn in_block(&self) -> bool {
        self.block.is_some()
    }

    /// `SET TRANSACTION`: the open block's READ ONLY or READ WRITE; outside a block,
    /// nothing (Postgres warns).
    pub(crate) fn set_block_read_only(&mut self, read_only: Option<bool>) {
        if let Some(block) = &mut self.block
            && read_only.is_some()
        {
            block.read_only = read_only;
        }
    }

    /// The block ends (`COMMIT`, `ROLLBACK`): the session's defaults hold again.
    pub(crate) fn end_block(&mut self) {
        self.block = None;
    }
}

/// The session's defaults for new transactions, which `SET SESSION CHARACTERISTICS AS
/// TRANSACTION ..` sets (`statements/properties.rs` checks their values).
pub(crate) const DEFAULT_ISOLATION: &str = "default_transaction_isolation";
pub(crate) const DEFAULT_READ_ONLY: &str = "default_transaction_read_only";
pub(crate) const DEFAULT_DEFERRABLE: &str = "default_transaction_deferrable";

/// Each setting of the current transaction and the default it has: each of Eddy's
/// statements is its own transaction, so the current one's modes are the defaults.
const CURRENT_TRANSACTION_SETTINGS: [(&str, &str); 3] = [
    ("transaction_isolation", DEFAULT_ISOLATION),
    ("transaction_read_only", DEFAULT_READ_ONLY),
    ("transaction_deferrable", DEFAULT_DEFERRABLE),
];

/// Settings Postgres drivers and psql set or read, with the values Eddy works with.
/// `None`: any value is accepted and reported back (it has no effect on results).
pub(crate) const CLIENT_SETTINGS: &[(&str, Option<&[&str]>)] = &[
    ("application_name", None),
    ("client_encoding", Some(&["utf8", "utf-8", "unicode"])),
    (
        "datestyle",
        Some(&["iso", "iso, mdy", "iso, dmy", "iso, ymd"]),
    ),
    ("extra_float_digits", None),
    ("intervalstyle", Some(&["postgres"])),
    ("search_path", None),
    ("statement_timeout", Some(&["0"])),
    ("lock_timeout", Some(&["0"])),
    ("idle_in_transaction_session_timeout", Some(&["0"])),
    ("client_min_messages", None),
    (
        "timezone",
        Some(&["utc", "etc/utc", "gmt", "z", "+00", "00:00", "+00:00"]),
    ),
    ("standard_conforming_strings", Some(&["on"])),
    (DEFAULT_ISOLATION, None),
    (DEFAULT_READ_ONLY, None),
    (DEFAULT_DEFERRABLE, None),
];

/// What SHOW answers for a client setting the session has not set: Postgres' default.
fn client_setting_default(name: &str) -> Option<&'static str> {
    Some(match name {
        "application_name" => "",
        "extra_float_digits" => "1",
        "search_path" => "\"$user\", public",
        "statement_timeout" | "lock_timeout" | "idle_in_transaction_session_timeout" => "0",
        "client_min_messages" => "notice",
        DEFAULT_ISOLATION => "read committed",
        DEFAULT_READ_ONLY | DEFAULT_DEFERRABLE => "off",
        _ => return None,
    })
}

/// Read-only server facts clients ask for with SHOW, with Postgres' values for what Eddy
/// is (UTF-8 only, UTC only).
const SERVER_SETTINGS: &[(&str, &str)] = &[
    ("server_version", eddy_planner::postgres::SERVER_VERSION),
    (
        "server_version_num",
        eddy_planner::postgres::SERVER_VERSION_NUM,
    ),
    ("server_encoding", "UTF8"),
    ("integer_datetimes", "on"),
    ("max_identifier_length", "63"),
    ("in_hot_standby", "off"),
    ("default_table_access_method", "heap"),
    ("lc_collate", "C"),
    ("lc_ctype", "C"),
];

/// What SHOW answers for a client setting with a fixed value when the session has not set
/// it: the one value Eddy works with.
pub(crate) fn fixed_client_setting(name: &str) -> Option<&'static str> {
    Some(match name {
        "client_encoding" => "UTF8",
        "standard_conforming_strings" => "on",
        "datestyle" => "ISO, MDY",
        "timezone" => "UTC",
        "intervalstyle" => "postgres",
        _ => return None,
    })
}

fn server_setting(name: &str) -> Option<&'static str> {
    SERVER_SETTINGS
        .iter()
        .find(|(setting, _)| *setting == name)
        .map(|(_, value)| *value)
}

/// Read-only settings that say who the session runs as.
const IDENTITY_SETTINGS: [&str; 2] = ["is_superuser", "session_authorization"];

fn identity_setting(identity: &Identity, name: &str) -> Option<String> {
    match name {
        "is_superuser" => Some(if identity.superuser { "on" } else { "off" }.to_string()),
        "session_authorization" => Some(identity.user.clone()),
        _ => None,
    }
}

/// The value SHOW gives a setting: the session's own, else the server's or the default.
pub(crate) fn setting_value(properties: &SessionProperties, name: &str) -> Option<String> {
    if let Some(value) = identity_setting(&properties.identity, name) {
        return Some(value);
    }
    if name == "transaction_read_only" {
        return Some(if properties.read_only() { "on" } else { "off" }.to_string());
    }
    let name = CURRENT_TRANSACTION_SETTINGS
        .iter()
        .find(|(current, _)| *current == name)
        .map_or(name, |(_, default)| default);
    properties
        .get(name)
        .or_else(|| server_setting(name))
        .or_else(|| fixed_client_setting(name))
        .or_else(|| client_setting_default(name))
        .or_else(|| (name == AUTO_OFFSET_RESET).then_some("latest"))
        .map(str::to_string)
}

/// Every setting SHOW answers, by name, with the session's value (`SHOW ALL`,
/// `pg_settings`, `current_setting`).
pub(crate) fn all_settings(properties: &SessionProperties) -> Vec<(String, String)> {
    let mut names: Vec<String> = SERVER_SETTINGS
        .iter()
        .map(|(name, _)| *name)
        .chain(CLIENT_SETTINGS.iter().map(|(name, _)| *name))
        .chain(IDENTITY_SETTINGS)
        .chain(CURRENT_TRANSACTION_SETTINGS.map(|(current, _)| current))
        .map(str::to_string)
        .chain([AUTO_OFFSET_RESET.to_string()])
        .chain(properties.names().cloned())
        .collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let value = setting_value(properties, &name).unwrap_or_default();
            (name, value)
        })
        .collect()
}
