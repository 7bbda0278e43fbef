//! The settings Postgres reports with a ParameterStatus whenever they change (its GUC_REPORT
//! settings) that a client can change in Eddy: drivers keep their own copy (pgjdbc checks
//! `DateStyle`, psql shows `application_name`), so a SET, RESET or DISCARD ALL that changes
//! one is followed by its new value.
//!
//! Never: report a setting under any name but Postgres' own spelling.

use eddy_executor::{DiscardTarget, Statement};

/// Eddy's (lower-case) name and Postgres' ParameterStatus name of each reported setting.
const REPORTED: &[(&str, &str)] = &[
    ("application_name", "application_name"),
    ("client_encoding", "client_encoding"),
    ("datestyle", "DateStyle"),
    (
        "default_transaction_read_only",
        "default_transaction_read_only",
    ),
    ("intervalstyle", "IntervalStyle"),
    ("standard_conforming_strings", "standard_conforming_strings"),
    ("timezone", "TimeZone"),
];

/// The reported settings `statement` may have changed, as (name, ParameterStatus name).
pub(crate) fn changed_by(statement: &Statement) -> Vec<(&'static str, &'static str)> {
    let names: Vec<&str> = match statement {
        Statement::Set { name, .. } | Statement::Unset { name, .. } => vec![name.as_str()],
        Statement::SetSessionCharacteristics { settings } => {
            settings.iter().map(|(name, _)| name.as_str()).collect()
        }
        Statement::Discard(DiscardTarget::All) => return REPORTED.to_vec(),
        _ => return Vec::new(),
    };
    if names.iter().any(|name| name.eq_ignore_ascii_case("all")) {
        return REPORTED.to_vec();
    }
    REPORTED
        .iter()
        .filter(|(setting, _)| names.iter().any(|name| name.eq_ignore_ascii_case(setting)))
        .copied()
        .collect()
}
