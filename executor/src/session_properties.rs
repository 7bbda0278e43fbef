//! A session's properties (`SET 'auto.offset.reset' = 'earliest'`): set and shown by the
//! SET and SHOW statements, read by the statements they change (a push query's start).
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
}

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

    /// The names of the properties set, in order.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.values.keys()
    }
}
