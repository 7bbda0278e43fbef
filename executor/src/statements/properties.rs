//! Session properties: ksqlDB's `SET 'k' = 'v'` / `UNSET 'k'` and the Postgres settings that
//! drivers send on connect (`SET extra_float_digits = 3`, `SHOW server_version`, `SHOW ALL`),
//! and `DISCARD`, which connection pools send to reset a session between clients.
//!
//! Every property Eddy accepts has an effect or is a client setting that Eddy's answers already
//! satisfy (e.g. `client_encoding` must be UTF8). Anything else is refused with Postgres'
//! "unrecognized configuration parameter", never stored and ignored.

use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use eddy_parser::{DiscardTarget, TransactionStatement, UnsetSpelling};
use eddy_planner::PlanError;

use crate::error::EngineResult;
use crate::output::{CommandComplete, QueryOutput, RowStream};
use crate::session_properties::{
    AUTO_OFFSET_RESET, CLIENT_SETTINGS, DEFAULT_DEFERRABLE, DEFAULT_ISOLATION, DEFAULT_READ_ONLY,
    SessionProperties, WINDOW_IDLE_TIMEOUT, all_settings, fixed_client_setting, setting_value,
};

/// ksqlDB's delivery guarantee. Eddy's persistent queries are always exactly once, which
/// meets every value a ksqlDB script may ask for.
const PROCESSING_GUARANTEE: &str = "processing.guarantee";
const PROCESSING_GUARANTEES: &[&str] = &["exactly_once_v2", "exactly_once", "at_least_once"];

/// `DISCARD`: `ALL` returns the session's settings to their defaults, as `RESET ALL` does;
/// Eddy keeps no plans, sequences or temporary tables per session, so the others have
/// nothing to drop. (The server refuses `DISCARD ALL` inside a transaction block.)
pub fn discard(properties: &mut SessionProperties, target: DiscardTarget) -> QueryOutput {
    let tag = match target {
        DiscardTarget::All => {
            properties.reset_all();
            "DISCARD ALL"
        }
        DiscardTarget::Plans => "DISCARD PLANS",
        DiscardTarget::Sequences => "DISCARD SEQUENCES",
        DiscardTarget::Temp => "DISCARD TEMP",
    };
    QueryOutput::Command(CommandComplete::new(tag))
}

pub fn set(
    properties: &mut SessionProperties,
    name: &str,
    value: &str,
) -> EngineResult<QueryOutput> {
    let name = name.to_lowercase();
    let value = value.trim().to_string();
    if name == AUTO_OFFSET_RESET {
        let lowered = value.to_lowercase();
        if lowered != "earliest" && lowered != "latest" {
            return Err(PlanError::Invalid {
                message: format!(
                    "invalid value for {AUTO_OFFSET_RESET}: \"{value}\" (expected 'earliest' or 'latest')"
                ),
            }
            .into());
        }
        properties.set(name, lowered);
        return Ok(QueryOutput::Command(CommandComplete::new("SET")));
    }
    if name == WINDOW_IDLE_TIMEOUT {
        let timeout = eddy_parser::parse_duration_text(&value).filter(|timeout| !timeout.is_zero());
        if timeout.is_none() {
            return Err(PlanError::Invalid {
                message: format!(
                    "invalid value for {WINDOW_IDLE_TIMEOUT}: \"{value}\" (expected a duration above zero, as '30 SECONDS')"
                ),
            }
            .into());
        }
        properties.set(name, value);
        return Ok(QueryOutput::Command(CommandComplete::new("SET")));
    }
    if name == PROCESSING_GUARANTEE {
        let lowered = value.to_lowercase();
        if !PROCESSING_GUARANTEES.contains(&lowered.as_str()) {
            return Err(PlanError::Invalid {
                message: format!(
                    "invalid value for {PROCESSING_GUARANTEE}: \"{value}\" (expected {})",
                    PROCESSING_GUARANTEES.join(", ")
                ),
            }
            .into());
        }
        properties.set(name, lowered);
        return Ok(QueryOutput::Command(
            CommandComplete::new("SET")
                .with_notice("Eddy's persistent queries always process every row exactly once"),
        ));
    }
    if let Some(value) = transaction_default(&name, &value)? {
        properties.set(name, value);
        return Ok(QueryOutput::Command(CommandComplete::new("SET")));
    }
    let Some((_, allowed)) = CLIENT_SETTINGS.iter().find(|(setting, _)| *setting == name) else {
        return Err(PlanError::UnknownSetting { name }.into());
    };
    if let Some(allowed) = allowed {
        let lowered = value.trim_matches('\'').to_lowercase();
        if lowered != "default" && !allowed.contains(&lowered.as_str()) {
            return Err(PlanError::Invalid {
                message: format!(
                    "Eddy supports {name} = {} only, not \"{value}\"",
                    allowed.first().copied().unwrap_or_default()
                ),
            }
            .into());
        }
    }
    // Every accepted spelling means Eddy's one value, which SHOW and ParameterStatus give
    // as Postgres does (`utf8` is `UTF8`; drivers such as pgjdbc insist on `ISO, MDY`).
    let value = fixed_client_setting(&name).map_or(value, str::to_owned);
    properties.set(name, value);
    Ok(QueryOutput::Command(CommandComplete::new("SET")))
}

/// `SET SESSION CHARACTERISTICS AS TRANSACTION ..`: SET of each setting its modes stand
/// for, all of them or (on an error) none.
pub fn set_session_characteristics(
    properties: &mut SessionProperties,
    settings: &[(String, String)],
) -> EngineResult<QueryOutput> {
    let mut changed = properties.clone();
    for (name, value) in settings {
        set(&mut changed, name, value)?;
    }
    *properties = changed;
    Ok(QueryOutput::Command(CommandComplete::new("SET")))
}

/// A transaction statement's effect on the session: `BEGIN` opens a block with its modes,
/// `SET TRANSACTION` changes the open block's, `COMMIT` and `ROLLBACK` end it. Modes are
/// checked as SET SESSION CHARACTERISTICS checks them: an isolation level Eddy does not
/// give is refused (0A000), READ ONLY is enforced for the block.
pub fn transaction(
    properties: &mut SessionProperties,
    statement: &TransactionStatement,
) -> EngineResult<()> {
    let read_only_of = |modes: &[(String, String)]| -> EngineResult<Option<bool>> {
        let mut read_only = None;
        for (name, value) in modes {
            let value = transaction_default(name, value)?;
            if name == DEFAULT_READ_ONLY {
                read_only = value.map(|value| value == "on");
            }
        }
        Ok(read_only)
    };
    match statement {
        TransactionStatement::Begin(modes) => properties.begin_block(read_only_of(modes)?),
        // Outside a block SET TRANSACTION changes nothing (the server warns), as in Postgres.
        TransactionStatement::SetModes(modes) if properties.in_block() => {
            properties.set_block_read_only(read_only_of(modes)?)
        }
        TransactionStatement::SetModes(_) => {}
        TransactionStatement::Commit | TransactionStatement::Rollback => properties.end_block(),
        TransactionStatement::Savepoint(_)
        | TransactionStatement::Release(_)
        | TransactionStatement::RollbackTo(_) => {}
    }
    Ok(())
}

/// The value a default for new transactions is set to, None for another setting.
///
/// What Eddy honours: each statement commits on its own and reads what was committed
/// when it started, which is READ COMMITTED (and so READ UNCOMMITTED, which Postgres runs
/// as READ COMMITTED too). REPEATABLE READ and SERIALIZABLE promise that a transaction's
/// statements see one snapshot, which Eddy's transaction blocks do not give: refused
/// (0A000). READ ONLY is enforced (`access_check::check_read_only`). DEFERRABLE changes
/// only SERIALIZABLE READ ONLY transactions in Postgres, so either value is true of Eddy.
fn transaction_default(name: &str, value: &str) -> EngineResult<Option<String>> {
    let lowered = value.trim_matches('\'').trim().to_lowercase();
    match name {
        DEFAULT_ISOLATION => match lowered.as_str() {
            "read uncommitted" | "read committed" => Ok(Some(lowered)),
            "repeatable read" | "serializable" => Err(PlanError::Unsupported {
                feature: format!(
                    "isolation level {lowered} (each of Eddy's statements commits on its own \
                     and reads what is committed when it starts: read committed)"
                ),
            }
            .into()),
            _ => Err(PlanError::Invalid {
                message: format!(
                    "invalid value for parameter \"{name}\": \"{value}\" (available values: \
                     read committed, read uncommitted)"
                ),
            }
            .into()),
        },
        DEFAULT_READ_ONLY | DEFAULT_DEFERRABLE => match lowered.as_str() {
            "on" | "true" | "yes" | "1" | "t" | "y" => Ok(Some("on".to_string())),
            "off" | "false" | "no" | "0" | "f" | "n" => Ok(Some("off".to_string())),
            _ => Err(PlanError::Invalid {
                message: format!("parameter \"{name}\" requires a Boolean value"),
            }
            .into()),
        },
        _ => Ok(None),
    }
}

pub fn unset(
    properties: &mut SessionProperties,
    name: &str,
    spelling: UnsetSpelling,
) -> EngineResult<QueryOutput> {
    let tag = match spelling {
        UnsetSpelling::Unset => "UNSET",
        UnsetSpelling::Reset => "RESET",
        UnsetSpelling::SetDefault => "SET",
    };
    let name = name.to_lowercase();
    if name == "all" {
        properties.reset_all();
        return Ok(QueryOutput::Command(CommandComplete::new(tag)));
    }
    let known = name == AUTO_OFFSET_RESET
        || name == PROCESSING_GUARANTEE
        || CLIENT_SETTINGS.iter().any(|(setting, _)| *setting == name);
    if !known {
        return Err(PlanError::UnknownSetting { name }.into());
    }
    properties.unset(&name);
    Ok(QueryOutput::Command(CommandComplete::new(tag)))
}

pub fn properties_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("property", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, false),
    ]))
}

pub fn show_properties(properties: &SessionProperties) -> QueryOutput {
    let mut names = vec![AUTO_OFFSET_RESET.to_string()];
    names.extend(
        properties
            .names()
            .filter(|name| *name != AUTO_OFFSET_RESET)
            .cloned(),
    );
    let values: Vec<String> = names
        .iter()
        .map(|name| match properties.get(name) {
            Some(value) => value.to_string(),
            None if name == AUTO_OFFSET_RESET => "latest".to_string(),
            None => String::new(),
        })
        .collect();
    let batch = RecordBatch::try_new(
        properties_schema(),
        vec![
            Arc::new(StringArray::from(names)),
            Arc::new(StringArray::from(values)),
        ],
    )
    .expect("two string columns of equal length match the properties schema");
    QueryOutput::Rows(RowStream::from_batches(properties_schema(), vec![batch]))
}

/// The columns of `SHOW name`: one named after the setting; `SHOW ALL`'s for `all`.
pub fn variable_schema(name: &str) -> SchemaRef {
    if name.eq_ignore_ascii_case("all") {
        return all_settings_schema();
    }
    Arc::new(Schema::new(vec![Field::new(
        name.to_lowercase(),
        DataType::Utf8,
        false,
    )]))
}

/// `SHOW ALL`'s columns, as Postgres': name, setting, description.
fn all_settings_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("setting", DataType::Utf8, false),
        Field::new("description", DataType::Utf8, false),
    ]))
}

/// What SHOW ALL says a setting is: Postgres' description where Postgres has the setting.
fn setting_description(name: &str) -> &'static str {
    match name {
        "application_name" => "Sets the application name to be reported in statistics and logs.",
        "client_encoding" => "Sets the client's character set encoding.",
        "client_min_messages" => "Sets the message levels that are sent to the client.",
        "datestyle" => "Sets the display format for date and time values.",
        "default_transaction_isolation" => {
            "Sets the transaction isolation level of each new transaction."
        }
        "default_transaction_read_only" => "Sets the default read-only status of new transactions.",
        "default_transaction_deferrable" => {
            "Sets the default deferrable status of new transactions."
        }
        "transaction_deferrable" => {
            "Whether to defer a read-only serializable transaction until it can be executed with no possible serialization failures."
        }
        "extra_float_digits" => "Sets the number of digits displayed for floating-point values.",
        "idle_in_transaction_session_timeout" => {
            "Sets the maximum allowed idle time between queries, when in a transaction."
        }
        "in_hot_standby" => "Shows whether hot standby is currently active.",
        "default_table_access_method" => "Sets the default table access method for new tables.",
        "integer_datetimes" => "Shows whether datetimes are integer based.",
        "intervalstyle" => "Sets the display format for interval values.",
        "is_superuser" => "Shows whether the current user is a superuser.",
        "session_authorization" => "Shows the user the session runs as.",
        "lc_collate" => "Shows the collation order locale.",
        "lc_ctype" => "Shows the character classification and case conversion locale.",
        "lock_timeout" => "Sets the maximum allowed duration of any wait for a lock.",
        "max_identifier_length" => "Shows the maximum identifier length.",
        "search_path" => "Sets the schema search order for names that are not schema-qualified.",
        "server_encoding" => "Shows the server (database) character set encoding.",
        "server_version" => "Shows the server version.",
        "server_version_num" => "Shows the server version as an integer.",
        "standard_conforming_strings" => "Causes '...' strings to treat backslashes literally.",
        "statement_timeout" => "Sets the maximum allowed duration of any statement.",
        "timezone" => "Sets the time zone for displaying and interpreting time stamps.",
        "transaction_isolation" => "Sets the current transaction's isolation level.",
        "transaction_read_only" => "Sets the current transaction's read-only status.",
        AUTO_OFFSET_RESET => {
            "Where a push query starts reading: latest (new rows only) or earliest (ksqlDB)."
        }
        PROCESSING_GUARANTEE => "ksqlDB's delivery guarantee; Eddy's is always exactly once.",
        WINDOW_IDLE_TIMEOUT => {
            "How long a caught-up window waits for input before its stream time follows the clock."
        }
        _ => "",
    }
}

/// Postgres `SHOW ALL`: every setting SHOW answers, by name, with what it is.
fn show_all(properties: &SessionProperties) -> QueryOutput {
    let (names, values): (Vec<String>, Vec<String>) = all_settings(properties).into_iter().unzip();
    let descriptions: Vec<&str> = names.iter().map(|name| setting_description(name)).collect();
    let batch = RecordBatch::try_new(
        all_settings_schema(),
        vec![
            Arc::new(StringArray::from(names)),
            Arc::new(StringArray::from(values)),
            Arc::new(StringArray::from(descriptions)),
        ],
    )
    .expect("three string columns of equal length match the settings schema");
    QueryOutput::Rows(RowStream::from_batches(all_settings_schema(), vec![batch]))
}

/// Postgres `SHOW name`.
pub fn show_variable(properties: &SessionProperties, name: &str) -> EngineResult<QueryOutput> {
    let name = name.to_lowercase();
    if name == "all" {
        return Ok(show_all(properties));
    }
    let value = setting_value(properties, &name)
        .ok_or_else(|| PlanError::UnknownSetting { name: name.clone() })?;
    let schema = variable_schema(&name);
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(StringArray::from(vec![value]))],
    )
    .expect("one string column matches the variable schema");
    Ok(QueryOutput::Rows(RowStream::from_batches(
        schema,
        vec![batch],
    )))
}
