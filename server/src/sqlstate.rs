//! The one place errors become SQLSTATEs and ErrorResponse fields.
//!
//! Eddy's own error enums are matched without wildcard arms, so a new variant does not
//! compile until it has a code. DataFusion's errors are looked through (context, shared and
//! collected errors) to the first real cause, then classified by kind. Choices DESIGN.md
//! leaves open: `PlanError::Invalid` is 22023 (invalid_parameter_value: the statement
//! parsed, and the typical case is a bad WITH property or key), missing or duplicate
//! non-relations (queries) are 42704 / 42710, an arrow division by zero is 22012 and an
//! overflow 22003.
//!
//! Never: send an error without a SQLSTATE, or turn a client's bad input into XX000.

use arrow::error::ArrowError;
use datafusion::common::SchemaError;
use datafusion::error::DataFusionError;
use eddy_executor::{AccessError, DataError, EngineError, ObjectKind, ParseError, PlanError};
use pgwire::error::{ErrorInfo, PgWireError, SEVERITY_ERROR, SEVERITY_NOTICE, SEVERITY_WARNING};
use pgwire::messages::response::NoticeResponse;
use tracing::{debug, warn};

use crate::error::ServerError;

/// The ErrorResponse for an engine error, logged by severity (XX000 means a bug).
pub(crate) fn engine_error(error: EngineError) -> PgWireError {
    let code = engine_sqlstate(&error);
    let message = match &error {
        EngineError::DataFusion(error) | EngineError::Plan(PlanError::DataFusion(error)) => {
            datafusion_message(error)
        }
        _ => error.to_string(),
    };
    let mut info = ErrorInfo::new(SEVERITY_ERROR.to_owned(), code.to_owned(), message);
    if let EngineError::Parse(ParseError::Syntax { position_chars, .. }) = &error
        && *position_chars > 0
    {
        info.position = Some(position_chars.to_string());
    }
    log_error(&info);
    PgWireError::UserError(Box::new(info))
}

/// The ErrorResponse for an error the server detected itself.
pub(crate) fn server_error(error: ServerError) -> PgWireError {
    let info = ErrorInfo::new(
        SEVERITY_ERROR.to_owned(),
        server_sqlstate(&error).to_owned(),
        error.to_string(),
    );
    log_error(&info);
    PgWireError::UserError(Box::new(info))
}

/// A NOTICE for the user (successful completion), e.g. the id of a started query.
pub(crate) fn notice(message: String) -> NoticeResponse {
    ErrorInfo::new(SEVERITY_NOTICE.to_owned(), "00000".to_owned(), message).into()
}

/// Postgres' warning for BEGIN inside a transaction block.
pub(crate) fn already_in_transaction_warning() -> NoticeResponse {
    let message = "there is already a transaction in progress".to_owned();
    ErrorInfo::new(SEVERITY_WARNING.to_owned(), "25001".to_owned(), message).into()
}

/// Postgres' warning for COMMIT or ROLLBACK outside a transaction block.
/// Postgres' warning for `SET TRANSACTION` outside a block, which changes nothing.
pub(crate) fn set_transaction_outside_block_warning() -> NoticeResponse {
    let message = "SET TRANSACTION can only be used in transaction blocks".to_owned();
    ErrorInfo::new(SEVERITY_WARNING.to_owned(), "25P01".to_owned(), message).into()
}

pub(crate) fn no_transaction_warning() -> NoticeResponse {
    let message = "there is no transaction in progress".to_owned();
    ErrorInfo::new(SEVERITY_WARNING.to_owned(), "25P01".to_owned(), message).into()
}

fn log_error(info: &ErrorInfo) {
    if info.code == "XX000" {
        warn!(sqlstate = %info.code, message = %info.message, "internal error sent to client");
    } else {
        debug!(sqlstate = %info.code, message = %info.message, "error sent to client");
    }
}

pub(crate) fn engine_sqlstate(error: &EngineError) -> &'static str {
    match error {
        EngineError::Parse(error) => parse_sqlstate(error),
        EngineError::Plan(error) => plan_sqlstate(error),
        EngineError::Storage(_) => "XX000",
        EngineError::DataFusion(error) => datafusion_sqlstate(error),
        EngineError::Arrow(error) => arrow_sqlstate(error),
        EngineError::Data(error) => data_sqlstate(error),
        EngineError::Cancelled => "57014",
        EngineError::Internal(_) => "XX000",
        EngineError::ShuttingDown => "57P01",
        EngineError::OutOfMemory(_) => "53200",
        EngineError::Access(error) => access_sqlstate(error),
        EngineError::ReadOnlyTransaction(_) => "25006",
    }
}

/// Postgres' codes for role and privilege errors.
fn access_sqlstate(error: &AccessError) -> &'static str {
    match error {
        AccessError::PermissionDenied(_) => "42501",
        AccessError::UserExists(_) => "42710",
        AccessError::UnknownUser(_) => "42704",
        AccessError::DropCurrentUser => "55006",
        AccessError::NoRandomness => "58000",
    }
}

fn parse_sqlstate(error: &ParseError) -> &'static str {
    match error {
        ParseError::Syntax { .. } => "42601",
        ParseError::Unsupported { .. } => "0A000",
    }
}

fn plan_sqlstate(error: &PlanError) -> &'static str {
    match error {
        PlanError::UnknownObject { kind, .. } => match kind {
            ObjectKind::Stream | ObjectKind::Table | ObjectKind::StreamOrTable => "42P01",
            ObjectKind::Query | ObjectKind::Type => "42704",
        },
        PlanError::UnknownType { .. } => "42704",
        PlanError::UnknownColumn { .. } => "42703",
        PlanError::UnknownSetting { .. } => "42704",
        PlanError::AlreadyExists { kind, .. } => match kind {
            ObjectKind::Stream | ObjectKind::Table | ObjectKind::StreamOrTable => "42P07",
            ObjectKind::Query | ObjectKind::Type => "42710",
        },
        PlanError::DuplicateColumn { .. } => "42701",
        PlanError::InvalidDefinition { .. } => "42P16",
        PlanError::TypeMismatch { .. } => "42804",
        PlanError::Invalid { .. } => "22023",
        PlanError::Grouping { .. } => "42803",
        PlanError::InUse { .. } => "55006",
        // wrong_object_type, as Postgres refuses a write into a materialized view.
        PlanError::ReadOnlySource { .. } => "42809",
        PlanError::Unsupported { .. } => "0A000",
        PlanError::UnsupportedJoin { .. } => "0A000",
        PlanError::Internal { .. } => "XX000",
        PlanError::DataFusion(error) => datafusion_sqlstate(error),
    }
}

fn data_sqlstate(error: &DataError) -> &'static str {
    match error {
        DataError::InvalidValue(_) => "22P02",
        DataError::NullNotAllowed(_) => "23502",
        DataError::OutOfRange(_) => "22003",
        DataError::DatetimeOutOfRange(_) => "22008",
        DataError::BadCopyData(_) => "22P04",
        DataError::InvalidEncoding(_) => "22021",
        // data_exception: the function's arguments are bad for it, in no more precise way.
        DataError::FunctionFailed(_) | DataError::Late(_) => "22000",
    }
}

/// DataFusion's error classified by its root cause.
fn datafusion_sqlstate(error: &DataFusionError) -> &'static str {
    match root_cause(error) {
        DataFusionError::SchemaError(schema_error, _) => match schema_error.as_ref() {
            SchemaError::FieldNotFound { .. } => "42703",
            SchemaError::AmbiguousReference { .. } => "42702",
            SchemaError::DuplicateQualifiedField { .. }
            | SchemaError::DuplicateUnqualifiedField { .. } => "42701",
        },
        DataFusionError::Plan(message) if is_missing_table(message) => "42P01",
        DataFusionError::Plan(message) if is_missing_type(message) => "42704",
        DataFusionError::Plan(message) if message.contains(NO_MATCHING_FUNCTION) => "42883",
        DataFusionError::Plan(message) if message.starts_with("Invalid function '") => "42883",
        DataFusionError::Plan(message) if is_undefined_catalog_object(message) => "42704",
        DataFusionError::Plan(message) if is_unsupported_subquery(message) => "0A000",
        DataFusionError::Plan(_) | DataFusionError::SQL(_, _) => "42601",
        DataFusionError::NotImplemented(_) => "0A000",
        DataFusionError::ArrowError(error, _) => arrow_sqlstate(error),
        DataFusionError::Configuration(_) => "22023",
        DataFusionError::Execution(message) if message == NULL_IDENTIFIER => "22004",
        DataFusionError::Execution(message) if is_bad_format(message) => "22023",
        // A function refusing the values it was given (ksqlDB's functions report a bad
        // argument so): the data is at fault, not Eddy.
        DataFusionError::Execution(_) => "22000",
        DataFusionError::ResourcesExhausted(_) => "53200",
        _ => "XX000",
    }
}

/// How DataFusion says that a function does not take the given argument types, after a
/// preamble of internal detail that only confuses a user.
const NO_MATCHING_FUNCTION: &str = "No function matches the given name and argument types";

/// DataFusion reports an unknown table in a plan error ("table 'x' not found"); a cast to
/// `regclass` of an unknown name in Postgres' words.
fn is_missing_table(message: &str) -> bool {
    message.starts_with("table '") && message.contains("' not found")
        || message.starts_with("relation \"") && message.ends_with("\" does not exist")
}

/// The catalog's system functions report an unknown type, schema, role or setting in
/// Postgres' words (`'x'::regtype`, `current_setting('x')`, `has_table_privilege('x', ..)`).
fn is_undefined_catalog_object(message: &str) -> bool {
    ["type \"", "schema \"", "role \""]
        .iter()
        .any(|start| message.starts_with(start) && message.ends_with("\" does not exist"))
        || message.starts_with("unrecognized configuration parameter \"")
}

/// DataFusion plans a subquery only in some places and shapes (a correlated one in an
/// ORDER BY, one that is not aggregated): a feature Eddy lacks, not a syntax error.
fn is_unsupported_subquery(message: &str) -> bool {
    message.contains("subquery can only be used in")
        || message.starts_with("Correlated scalar subquery must be aggregated")
}

/// `format('%I', NULL)` in Postgres' words (null_value_not_allowed).
const NULL_IDENTIFIER: &str = "null values cannot be formatted as an SQL identifier";

/// The catalog's `format()` reports a format string that does not fit its arguments in
/// Postgres' words (invalid_parameter_value).
fn is_bad_format(message: &str) -> bool {
    message.contains("format()")
        || message.starts_with("format specifies argument 0")
        || message.starts_with("width argument position must be ended by")
}

/// Eddy's type planner reports an unknown named type (`CAST(x AS nope)`) in a plan error
/// worded as `PlanError::UnknownType`.
fn is_missing_type(message: &str) -> bool {
    message.starts_with("type \"") && message.contains("\" does not exist; the built-in types")
}

fn arrow_sqlstate(error: &ArrowError) -> &'static str {
    match error {
        ArrowError::DivideByZero => "22012",
        ArrowError::ArithmeticOverflow(_) => "22003",
        ArrowError::CastError(_) | ArrowError::ParseError(_) | ArrowError::ComputeError(_) => {
            "22000"
        }
        _ => "XX000",
    }
}

/// Follows context, diagnostics, shared and collected errors to the first cause.
fn root_cause(error: &DataFusionError) -> &DataFusionError {
    let mut current = error.find_root();
    loop {
        current = match current {
            DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => {
                inner.as_ref()
            }
            DataFusionError::Shared(inner) => inner.as_ref(),
            DataFusionError::Collection(errors) => match errors.first() {
                Some(first) => first,
                None => return current,
            },
            _ => return current,
        };
    }
}

/// The root cause's own message, without DataFusion's "Error during planning: " prefixes.
fn datafusion_message(error: &DataFusionError) -> String {
    let message = root_cause(error).message().into_owned();
    match message.find(NO_MATCHING_FUNCTION) {
        Some(start) => message[start..].to_string(),
        None => message,
    }
}

pub(crate) fn server_sqlstate(error: &ServerError) -> &'static str {
    match error {
        ServerError::InvalidParameter { .. } => "22P02",
        ServerError::ParameterCount { .. } | ServerError::ResultFormatCount { .. } => "08P01",
        ServerError::TooManyColumns { .. } => "54011",
        ServerError::ValueTooLarge { .. } => "54000",
        ServerError::ValueOutOfRange { .. } => "22008",
        ServerError::UnsupportedType { .. } => "0A000",
        ServerError::CopyBothUnsupported | ServerError::CopyInNotLast => "0A000",
        ServerError::CopyFailed { .. } => "57014",
        ServerError::NoCopyInProgress => "08P01",
        ServerError::NotInTransactionBlock { .. } => "25P01",
        ServerError::InsideTransactionBlock { .. } => "25001",
        ServerError::NoSuchSavepoint { .. } => "3B001",
        ServerError::NoSuchPreparedStatement { .. } => "26000",
        ServerError::TransactionAborted => "25P02",
        ServerError::BatchColumnCount { .. } => "XX000",
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::common::Column;
    use eddy_executor::StorageError;

    use super::*;

    fn code_of(error: EngineError) -> String {
        match engine_error(error) {
            PgWireError::UserError(info) => info.code,
            other => panic!("expected a user error, got {other:?}"),
        }
    }

    #[test]
    fn parse_errors_carry_code_and_position() {
        let error = EngineError::Parse(ParseError::Syntax {
            message: "syntax error at or near \"FORM\"".to_owned(),
            position_chars: 10,
        });
        let PgWireError::UserError(info) = engine_error(error) else {
            panic!("expected a user error");
        };
        assert_eq!(info.code, "42601");
        assert_eq!(info.position.as_deref(), Some("10"));
        assert_eq!(info.message, "syntax error at or near \"FORM\"");
        let unsupported = ParseError::Unsupported {
            feature: "COPY FROM".to_owned(),
        };
        assert_eq!(code_of(EngineError::Parse(unsupported)), "0A000");
    }

    #[test]
    fn plan_errors_map_to_class_42_and_friends() {
        let cases = [
            (
                PlanError::UnknownObject {
                    kind: ObjectKind::Stream,
                    name: "s".into(),
                },
                "42P01",
            ),
            (
                PlanError::UnknownObject {
                    kind: ObjectKind::StreamOrTable,
                    name: "s".into(),
                },
                "42P01",
            ),
            (
                PlanError::UnknownObject {
                    kind: ObjectKind::Query,
                    name: "q".into(),
                },
                "42704",
            ),
            (
                PlanError::UnknownColumn {
                    column: "c".into(),
                    context: String::new(),
                },
                "42703",
            ),
            (PlanError::UnknownSetting { name: "x".into() }, "42704"),
            (
                PlanError::AlreadyExists {
                    kind: ObjectKind::Table,
                    name: "t".into(),
                },
                "42P07",
            ),
            (
                PlanError::AlreadyExists {
                    kind: ObjectKind::Query,
                    name: "q".into(),
                },
                "42710",
            ),
            (
                PlanError::DuplicateColumn {
                    column: "c".into(),
                    context: "twice",
                },
                "42701",
            ),
            (
                PlanError::InvalidDefinition {
                    message: "m".into(),
                },
                "42P16",
            ),
            (
                PlanError::TypeMismatch {
                    message: "m".into(),
                },
                "42804",
            ),
            (
                PlanError::Invalid {
                    message: "m".into(),
                },
                "22023",
            ),
            (
                PlanError::Grouping {
                    message: "m".into(),
                },
                "42803",
            ),
            (
                PlanError::InUse {
                    message: "m".into(),
                },
                "55006",
            ),
            (
                PlanError::ReadOnlySource {
                    kind: ObjectKind::Stream,
                    name: "s".into(),
                },
                "42809",
            ),
            (PlanError::UnknownType { name: "t".into() }, "42704"),
            (
                PlanError::Unsupported {
                    feature: "f".into(),
                },
                "0A000",
            ),
            (
                PlanError::Internal {
                    message: "m".into(),
                },
                "XX000",
            ),
        ];
        for (error, expected) in cases {
            let described = error.to_string();
            assert_eq!(code_of(EngineError::Plan(error)), expected, "{described}");
        }
    }

    #[test]
    fn datafusion_errors_are_classified_by_root_cause() {
        let missing_field = DataFusionError::SchemaError(
            Box::new(SchemaError::FieldNotFound {
                field: Box::new(Column::from_name("nope")),
                valid_fields: vec![],
            }),
            Box::new(None),
        );
        let wrapped = DataFusionError::Context("while planning".into(), Box::new(missing_field));
        assert_eq!(
            code_of(EngineError::Plan(PlanError::DataFusion(wrapped))),
            "42703"
        );

        let missing_table = DataFusionError::Plan("table 'eddy.public.nope' not found".into());
        assert_eq!(
            code_of(EngineError::Plan(PlanError::DataFusion(missing_table))),
            "42P01"
        );

        let subquery = DataFusionError::Plan(
            "Correlated scalar subquery can only be used in Projection, Filter, Aggregate plan nodes"
                .into(),
        );
        assert_eq!(code_of(EngineError::DataFusion(subquery)), "0A000");
        let bad_plan = DataFusionError::Plan("Projections require unique expression names".into());
        assert_eq!(code_of(EngineError::DataFusion(bad_plan)), "42601");

        let shared = DataFusionError::Shared(Arc::new(DataFusionError::NotImplemented("x".into())));
        assert_eq!(code_of(EngineError::DataFusion(shared)), "0A000");

        let cast = DataFusionError::ArrowError(
            Box::new(ArrowError::CastError(
                "Cannot cast string 'a' to Int64".into(),
            )),
            None,
        );
        assert_eq!(code_of(EngineError::DataFusion(cast)), "22000");
        assert_eq!(
            code_of(EngineError::Arrow(ArrowError::DivideByZero)),
            "22012"
        );

        let null_name = DataFusionError::Execution(NULL_IDENTIFIER.into());
        assert_eq!(code_of(EngineError::DataFusion(null_name)), "22004");
        let bad_format = DataFusionError::Execution("too few arguments for format()".into());
        assert_eq!(code_of(EngineError::DataFusion(bad_format)), "22023");
        let refused = DataFusionError::Execution("SPLIT_TO_MAP: a bad delimiter".into());
        assert_eq!(code_of(EngineError::DataFusion(refused)), "22000");
        let broken = DataFusionError::Internal("an operator broke an invariant".into());
        assert_eq!(code_of(EngineError::DataFusion(broken)), "XX000");
    }

    #[test]
    fn datafusion_messages_lose_their_stage_prefix() {
        let error = EngineError::DataFusion(DataFusionError::Plan("bad plan".into()));
        let PgWireError::UserError(info) = engine_error(error) else {
            panic!("expected a user error");
        };
        assert_eq!(info.message, "bad plan");
    }

    #[test]
    fn a_function_without_a_matching_signature_is_42883_without_the_preamble() {
        let message = "Internal error: Function 'sum' failed to match any signature. \
            This issue was likely caused by a bug in DataFusion's code. \
            No function matches the given name and argument types 'sum(Utf8)'.";
        let error = EngineError::DataFusion(DataFusionError::Plan(message.into()));
        let PgWireError::UserError(info) = engine_error(error) else {
            panic!("expected a user error");
        };
        assert_eq!(info.code, "42883");
        assert_eq!(
            info.message,
            "No function matches the given name and argument types 'sum(Utf8)'."
        );
    }

    #[test]
    fn engine_states_and_data_errors() {
        assert_eq!(code_of(EngineError::Cancelled), "57014");
        assert_eq!(code_of(EngineError::ShuttingDown), "57P01");
        assert_eq!(code_of(EngineError::OutOfMemory("state".into())), "53200");
        assert_eq!(
            code_of(EngineError::Access(AccessError::PermissionDenied(
                "for table clicks".into()
            ))),
            "42501"
        );
        assert_eq!(
            code_of(EngineError::Access(AccessError::UnknownUser("bob".into()))),
            "42704"
        );
        assert_eq!(code_of(EngineError::Internal("bug".into())), "XX000");
        assert_eq!(code_of(EngineError::ReadOnlyTransaction("INSERT")), "25006");
        assert_eq!(code_of(DataError::InvalidValue("v".into()).into()), "22P02");
        assert_eq!(
            code_of(DataError::NullNotAllowed("v".into()).into()),
            "23502"
        );
        assert_eq!(code_of(DataError::OutOfRange("v".into()).into()), "22003");
        assert_eq!(
            code_of(DataError::DatetimeOutOfRange("v".into()).into()),
            "22008"
        );
        assert_eq!(code_of(DataError::BadCopyData("v".into()).into()), "22P04");
        assert_eq!(
            code_of(DataError::FunctionFailed("v".into()).into()),
            "22000"
        );
        assert_eq!(
            code_of(DataError::InvalidEncoding("v".into()).into()),
            "22021"
        );
        let storage = StorageError::TopicNotFound {
            name: "clicks".into(),
        };
        assert_eq!(code_of(EngineError::Storage(storage)), "XX000");
    }

    #[test]
    fn server_errors_have_their_own_codes() {
        let bad = ServerError::InvalidParameter {
            position: 1,
            type_name: "int8".into(),
            reason: "expected 8 bytes, got 3".into(),
        };
        assert_eq!(server_sqlstate(&bad), "22P02");
        let count = ServerError::ParameterCount {
            supplied: 1,
            required: 2,
        };
        assert_eq!(server_sqlstate(&count), "08P01");
    }
}
