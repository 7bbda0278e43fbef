//! A session's properties (`SET 'auto.offset.reset' = 'earliest'`): set and shown by the
//! SET and SHOW statements, read by the statements they change (a push query's start).
//!
//! Never: hold a property Eddy does not know; `statements/properties.rs` refuses those.

use std::collections::BTreeMap;

/// Where a push query starts: `latest` (default, new rows only) or `earliest`.
pub const AUTO_OFFSET_RESET: &str = "auto.offset.reset";

/// One session's properties, by lower-case name.
#[derive(Debug, Default, Clone)]
pub struct SessionProperties {
    values: BTreeMap<String, String>,
}

impl SessionProperties {
    /// The value of a property, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn set(&mut self, name: String, value: String) {
        self.values.insert(name, value);
    }

    pub fn unset(&mut self, name: &str) {
        self.values.remove(name);
    }

    /// The names of the properties set, in order.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.values.keys()
    }
}
