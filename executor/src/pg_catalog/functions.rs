//! Postgres' system functions that catalog queries call, as Eddy answers them: what is in
//! `public` and `pg_catalog` is visible (the search path), table privileges are the user's grants (`roles`),
//! descriptions, view definitions and primary keys come from the catalog when called, type
//! names from `oids`, settings and the current user from the session. Those for objects
//! Eddy has none of (column defaults, statistics, triggers) answer NULL, as Postgres does
//! for an object without one. The `eddy_reg*` functions are the casts to `regclass`, `regtype`,
//! `regnamespace` and `regproc` (and back to text) that `rewrite` turns those casts into,
//! and `eddy_member_of` is `x IN (subquery)` where DataFusion cannot run a subquery.
//! `format` is Postgres' `format()`, with its errors.
//!
//! Never: answer for an object by guessing; an unknown name in a reg cast is an error, as
//! in Postgres (42P01, 42704).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int32Array, Int64Array, Int64Builder, ListArray,
    ListBuilder, StringArray, StringBuilder, StructArray,
};
use arrow::buffer::OffsetBuffer;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};

use super::CatalogContext;
use super::keywords;
use super::oids;
use super::relations;
use super::roles::{self, Relation};
use super::system_tables::UTF8_ENCODING;

type Body = fn(&CatalogContext, &[ArrayRef], usize) -> Result<ArrayRef>;

/// Each system function: its name, fewest and most arguments, result type and body.
fn definitions() -> Vec<(&'static str, usize, usize, DataType, Body)> {
    use DataType::{Boolean, Int32, Int64, Utf8};
    let text_list = DataType::new_list(Utf8, true);
    vec![
        ("pg_table_is_visible", 1, 1, Boolean, table_is_visible),
        ("pg_function_is_visible", 1, 1, Boolean, always_true),
        ("pg_type_is_visible", 1, 1, Boolean, always_true),
        ("pg_collation_is_visible", 1, 1, Boolean, always_true),
        ("has_table_privilege", 2, 3, Boolean, has_table_privilege),
        ("has_schema_privilege", 2, 3, Boolean, always_true),
        (
            "has_any_column_privilege",
            2,
            3,
            Boolean,
            has_table_privilege,
        ),
        ("has_column_privilege", 3, 4, Boolean, has_column_privilege),
        ("has_database_privilege", 2, 3, Boolean, always_true),
        ("has_function_privilege", 2, 3, Boolean, always_true),
        ("pg_relation_is_publishable", 1, 1, Boolean, always_false),
        ("pg_get_userbyid", 1, 1, Utf8, user_by_id),
        ("format_type", 2, 2, Utf8, format_type),
        ("pg_get_expr", 2, 3, Utf8, first_as_text),
        ("pg_get_viewdef", 1, 2, Utf8, view_definition),
        ("obj_description", 1, 2, Utf8, object_description),
        ("col_description", 2, 2, Utf8, no_text),
        ("shobj_description", 2, 2, Utf8, no_text),
        ("pg_get_indexdef", 1, 3, Utf8, index_definition),
        ("pg_get_constraintdef", 1, 2, Utf8, constraint_definition),
        ("pg_get_triggerdef", 1, 2, Utf8, no_text),
        ("pg_get_statisticsobjdef_columns", 1, 1, Utf8, no_text),
        ("pg_get_partkeydef", 1, 1, Utf8, no_text),
        ("pg_get_function_result", 1, 1, Utf8, no_text),
        ("pg_get_function_arguments", 1, 1, Utf8, no_text),
        ("pg_get_function_identity_arguments", 1, 1, Utf8, no_text),
        ("pg_get_serial_sequence", 2, 2, Utf8, no_text),
        ("pg_encoding_to_char", 1, 1, Utf8, encoding_name),
        ("current_setting", 1, 2, Utf8, current_setting),
        ("current_schema", 0, 0, Utf8, current_schema),
        ("current_database", 0, 0, Utf8, current_database),
        ("current_user", 0, 0, Utf8, current_user),
        ("session_user", 0, 0, Utf8, current_user),
        ("current_role", 0, 0, Utf8, current_user),
        ("current_schemas", 1, 1, text_list.clone(), current_schemas),
        ("quote_ident", 1, 1, Utf8, quote_ident),
        ("parse_ident", 1, 2, text_list, parse_ident),
        ("to_regtype", 1, 1, Int64, to_regtype),
        ("to_regclass", 1, 1, Int64, to_regclass),
        ("to_regnamespace", 1, 1, Int64, to_regnamespace),
        // BIGINT, not Postgres' integer: DataFusion's generate_series, which clients call
        // with them (`generate_series(1, array_upper(a, 1))`), takes only BIGINT.
        ("array_upper", 2, 2, Int64, array_upper),
        ("array_lower", 2, 2, Int64, array_lower),
        ("pg_backend_pid", 0, 0, Int32, backend_pid),
        ("pg_table_size", 1, 1, Int64, no_size),
        ("pg_relation_size", 1, 2, Int64, no_size),
        ("pg_total_relation_size", 1, 1, Int64, no_size),
        ("pg_indexes_size", 1, 1, Int64, no_size),
        ("pg_size_pretty", 1, 1, Utf8, size_pretty),
        (
            SUBSCRIPTS,
            1,
            1,
            DataType::new_list(Int64, true),
            subscripts,
        ),
        (EXPAND_ARRAY, 1, 1, expanded_array_type(), expand_array),
        (REGCLASS, 1, 1, Int64, regclass),
        (REGTYPE, 1, 1, Int64, regtype),
        (REGNAMESPACE, 1, 1, Int64, regnamespace),
        (REGPROC, 1, 1, Utf8, regproc),
        (REGPROC_OID, 1, 1, Int64, regproc_oid),
        (REGCLASS_TEXT, 1, 1, Utf8, regclass_text),
        (REGTYPE_TEXT, 1, 1, Utf8, regtype_text),
        (REGNAMESPACE_TEXT, 1, 1, Utf8, regnamespace_text),
    ]
}

/// The system functions whose arguments are not a number of values of any type: each
/// with its signature, result type and body.
fn typed_definitions() -> Vec<(&'static str, Signature, DataType, Body)> {
    vec![
        (
            "format",
            Signature::variadic_any(Volatility::Stable),
            DataType::Utf8,
            format,
        ),
        (
            MEMBER_OF,
            Signature::element_and_array(Volatility::Immutable),
            DataType::Boolean,
            member_of,
        ),
    ]
}

/// Every system function, reading `context` when called.
pub fn system_functions(context: &CatalogContext) -> Vec<Arc<ScalarUDF>> {
    let counted =
        definitions()
            .into_iter()
            .map(|(name, arguments_min, arguments_max, return_type, body)| {
                (name, arity(arguments_min, arguments_max), return_type, body)
            });
    counted
        .chain(typed_definitions())
        .map(|(name, signature, return_type, body)| {
            Arc::new(ScalarUDF::new_from_impl(SystemFunction {
                name,
                signature,
                return_type,
                body,
                context: context.clone(),
            }))
        })
        .collect()
}

/// The functions `rewrite` turns `generate_subscripts` and `_pg_expandarray` into: an
/// array's subscripts (1 to its length), and its elements with their subscripts, as
/// `(x, n)` pairs.
pub const SUBSCRIPTS: &str = "eddy_subscripts";
pub const EXPAND_ARRAY: &str = "eddy_expand_array";

/// The functions `rewrite` turns casts to reg types into, and their `::text` forms.
pub const REGCLASS: &str = "eddy_regclass";
pub const REGTYPE: &str = "eddy_regtype";
pub const REGNAMESPACE: &str = "eddy_regnamespace";
pub const REGPROC: &str = "eddy_regproc";
/// A regproc column's function name as its OID, where it is compared with one (`regproc`).
pub const REGPROC_OID: &str = "eddy_regproc_oid";
pub const REGCLASS_TEXT: &str = "eddy_regclass_text";
pub const REGTYPE_TEXT: &str = "eddy_regtype_text";
pub const REGNAMESPACE_TEXT: &str = "eddy_regnamespace_text";

/// The function `rewrite` turns `x IN (subquery)` into where DataFusion cannot run the
/// subquery: `eddy_member_of(x, (SELECT array_agg(..) ..))`.
pub const MEMBER_OF: &str = "eddy_member_of";

/// Whether a query calling `name` needs the catalog session (a system function only it has).
pub fn is_system_function(name: &str) -> bool {
    definitions().iter().any(|(function, ..)| *function == name)
        || typed_definitions()
            .iter()
            .any(|(function, ..)| *function == name)
}

fn arity(arguments_min: usize, arguments_max: usize) -> Signature {
    let signatures = (arguments_min..=arguments_max)
        .map(|count| match count {
            0 => TypeSignature::Nullary,
            count => TypeSignature::Any(count),
        })
        .collect();
    Signature::one_of(signatures, Volatility::Stable)
}

struct SystemFunction {
    name: &'static str,
    signature: Signature,
    return_type: DataType,
    body: Body,
    context: CatalogContext,
}

impl fmt::Debug for SystemFunction {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("SystemFunction")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl PartialEq for SystemFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.signature == other.signature
    }
}

impl Eq for SystemFunction {}

impl Hash for SystemFunction {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl ScalarUDFImpl for SystemFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.return_type.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = args
            .args
            .iter()
            .map(|arg| arg.to_array(rows))
            .collect::<Result<Vec<ArrayRef>>>()?;
        Ok(ColumnarValue::Array((self.body)(
            &self.context,
            &arrays,
            rows,
        )?))
    }
}

fn texts(array: &ArrayRef) -> Result<StringArray> {
    Ok(cast(array, &DataType::Utf8)?.as_string::<i32>().clone())
}

fn ints(array: &ArrayRef) -> Result<Int64Array> {
    Ok(cast(array, &DataType::Int64)?
        .as_primitive::<arrow::datatypes::Int64Type>()
        .clone())
}

fn is_text(array: &ArrayRef) -> bool {
    matches!(
        array.data_type(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

fn text_rows(rows: usize, value: impl Fn(usize) -> Result<Option<String>>) -> Result<ArrayRef> {
    let values = (0..rows)
        .map(value)
        .collect::<Result<Vec<Option<String>>>>()?;
    Ok(Arc::new(StringArray::from(values)))
}

fn oid_rows(rows: usize, value: impl Fn(usize) -> Result<Option<i64>>) -> Result<ArrayRef> {
    let values = (0..rows).map(value).collect::<Result<Vec<Option<i64>>>>()?;
    Ok(Arc::new(Int64Array::from(values)))
}

/// The value of row `index` of a text argument, None for NULL.
fn text_at(array: &StringArray, index: usize) -> Option<&str> {
    array.is_valid(index).then(|| array.value(index))
}

fn int_at(array: &Int64Array, index: usize) -> Option<i64> {
    array.is_valid(index).then(|| array.value(index))
}

fn always_true(_: &CatalogContext, _: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    Ok(Arc::new(BooleanArray::from(vec![true; rows])))
}

/// Whether a relation is found by its bare name: those of `public` and `pg_catalog` are
/// (the search path), `information_schema`'s are not, as in Postgres.
fn table_is_visible(_: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let relation_oids = ints(&args[0])?;
    let values: Vec<Option<bool>> = (0..rows)
        .map(|index| {
            int_at(&relation_oids, index).map(|oid| {
                !super::tables::all_tables().any(|table| {
                    table.oid == oid && table.schema == super::tables::INFORMATION_SCHEMA
                })
            })
        })
        .collect();
    Ok(Arc::new(BooleanArray::from(values)))
}

fn always_false(_: &CatalogContext, _: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    Ok(Arc::new(BooleanArray::from(vec![false; rows])))
}

fn no_text(_: &CatalogContext, _: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    Ok(Arc::new(StringArray::from(vec![None::<&str>; rows])))
}

fn constant_text(rows: usize, value: &str) -> ArrayRef {
    Arc::new(StringArray::from(vec![value; rows]))
}

fn first_as_text(_: &CatalogContext, args: &[ArrayRef], _: usize) -> Result<ArrayRef> {
    Ok(Arc::new(texts(&args[0])?))
}

/// Postgres' answer for an OID that names no role: "unknown (OID=n)".
fn user_by_id(context: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let ids = ints(&args[0])?;
    text_rows(rows, |index| {
        Ok(
            int_at(&ids, index).map(|id| match roles::role_by_oid(context, id) {
                Some(role) => role.name,
                None => format!("unknown (OID={id})"),
            }),
        )
    })
}

/// `has_table_privilege([user,] table, privileges)` (and `has_any_column_privilege`, the
/// same for Eddy, whose grants are per relation): the user's grants, by role name or OID,
/// the table by name or OID. An unknown role or relation name is an error, an unknown OID
/// NULL, as in Postgres.
fn has_table_privilege(
    context: &CatalogContext,
    args: &[ArrayRef],
    rows: usize,
) -> Result<ArrayRef> {
    let (role, relation, privilege) = match args {
        [relation, privilege] => (None, relation, privilege),
        [role, relation, privilege] => (Some(role), relation, privilege),
        _ => return plan_err!("has_table_privilege takes 2 or 3 arguments"),
    };
    privilege_rows(context, role, relation, privilege, rows)
}

/// `has_column_privilege([user,] table, column, privileges)`: a relation's privilege, since
/// Eddy grants whole relations.
fn has_column_privilege(
    context: &CatalogContext,
    args: &[ArrayRef],
    rows: usize,
) -> Result<ArrayRef> {
    let (role, relation, privilege) = match args {
        [relation, _, privilege] => (None, relation, privilege),
        [role, relation, _, privilege] => (Some(role), relation, privilege),
        _ => return plan_err!("has_column_privilege takes 3 or 4 arguments"),
    };
    privilege_rows(context, role, relation, privilege, rows)
}

fn privilege_rows(
    context: &CatalogContext,
    role: Option<&ArrayRef>,
    relation: &ArrayRef,
    privilege: &ArrayRef,
    rows: usize,
) -> Result<ArrayRef> {
    let catalog = read_catalog(context)?;
    let privileges = texts(privilege)?;
    let role_names = role.filter(|role| is_text(role)).map(texts).transpose()?;
    let role_oids = role.filter(|role| !is_text(role)).map(ints).transpose()?;
    let relation_names = is_text(relation).then(|| texts(relation)).transpose()?;
    let relation_oids = (!is_text(relation)).then(|| ints(relation)).transpose()?;
    let values = (0..rows)
        .map(|index| {
            let role = match (&role_names, &role_oids) {
                (Some(names), _) => match text_at(names, index) {
                    Some(name) => roles::role_by_name(context, name)?,
                    None => return Ok(None),
                },
                (_, Some(oids)) => {
                    match int_at(oids, index).and_then(|oid| roles::role_by_oid(context, oid)) {
                        Some(role) => role,
                        None => return Ok(None),
                    }
                }
                _ => roles::current_role(context)?,
            };
            let oid = match (&relation_names, &relation_oids) {
                (Some(names), _) => match text_at(names, index) {
                    Some(name) => match relations::relation_oid_by_name(&catalog, name) {
                        Some(oid) => oid,
                        None => return plan_err!("relation \"{name}\" does not exist"),
                    },
                    None => return Ok(None),
                },
                (_, Some(oids)) => match int_at(oids, index) {
                    Some(oid) => oid,
                    None => return Ok(None),
                },
                _ => return Ok(None),
            };
            let Some(privilege) = text_at(&privileges, index) else {
                return Ok(None);
            };
            let relation = match relations::source_by_oid(&catalog, oid) {
                Some(source) => Relation::Source(source),
                None if relations::relation_name_by_oid(&catalog, oid).is_some() => {
                    Relation::Catalog
                }
                None => return Ok(None),
            };
            roles::has_privilege(&role, &relation, privilege).map(Some)
        })
        .collect::<Result<Vec<Option<bool>>>>()?;
    Ok(Arc::new(BooleanArray::from(values)))
}

/// `pg_get_indexdef(index)`: a primary key's index as Postgres writes it.
fn index_definition(context: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    primary_key_text(context, args, rows, |key| {
        (key.index_oid, key.index_definition())
    })
}

/// `pg_get_constraintdef(constraint)`: `PRIMARY KEY (id)`.
fn constraint_definition(
    context: &CatalogContext,
    args: &[ArrayRef],
    rows: usize,
) -> Result<ArrayRef> {
    primary_key_text(context, args, rows, |key| {
        (key.constraint_oid, key.constraint_definition())
    })
}

/// For each OID, the text of the primary key whose `oid_and_text` OID it is; NULL for any
/// other object.
fn primary_key_text(
    context: &CatalogContext,
    args: &[ArrayRef],
    rows: usize,
    oid_and_text: fn(&relations::PrimaryKey<'_>) -> (i64, String),
) -> Result<ArrayRef> {
    let object_oids = ints(&args[0])?;
    let catalog = read_catalog(context)?;
    let user_relations = relations::user_relations(&catalog);
    let keys: Vec<(i64, String)> = relations::primary_keys(&user_relations)
        .iter()
        .map(oid_and_text)
        .collect();
    text_rows(rows, |index| {
        Ok(int_at(&object_oids, index).and_then(|oid| {
            keys.iter()
                .find(|(key_oid, _)| *key_oid == oid)
                .map(|(_, text)| text.clone())
        }))
    })
}

/// Postgres writes "???" for a type it does not know.
fn format_type(_: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let types = ints(&args[0])?;
    let typmods = ints(&args[1])?;
    text_rows(rows, |index| {
        Ok(int_at(&types, index).map(|oid| {
            oids::format_type(oid, int_at(&typmods, index)).unwrap_or_else(|| "???".into())
        }))
    })
}

fn view_definition(context: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let relation_oids = ints(&args[0])?;
    let catalog = read_catalog(context)?;
    let relations = relations::user_relations(&catalog);
    text_rows(rows, |index| {
        Ok(int_at(&relation_oids, index).and_then(|oid| {
            relations
                .iter()
                .find(|relation| relation.oid == oid)
                .and_then(|relation| relation.definition.clone())
        }))
    })
}

/// A relation's description; objects of other catalogs have none.
fn object_description(
    context: &CatalogContext,
    args: &[ArrayRef],
    rows: usize,
) -> Result<ArrayRef> {
    let object_oids = ints(&args[0])?;
    let catalog_names = args.get(1).map(texts).transpose()?;
    let catalog = read_catalog(context)?;
    let relations = relations::user_relations(&catalog);
    text_rows(rows, |index| {
        let of_pg_class = catalog_names
            .as_ref()
            .is_none_or(|names| text_at(names, index) == Some("pg_class"));
        Ok(int_at(&object_oids, index)
            .filter(|_| of_pg_class)
            .and_then(|oid| {
                relations
                    .iter()
                    .find(|relation| relation.oid == oid)
                    .map(|relation| relation.description.clone())
            }))
    })
}

fn encoding_name(_: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let encodings = ints(&args[0])?;
    text_rows(rows, |index| {
        Ok(int_at(&encodings, index).map(|encoding| {
            if encoding == UTF8_ENCODING {
                "UTF8".to_string()
            } else {
                String::new()
            }
        }))
    })
}

/// `current_setting(name [, missing_ok])`: the session's value; an unknown name is an error
/// unless `missing_ok`, as in Postgres.
fn current_setting(context: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let names = texts(&args[0])?;
    let missing_ok = args
        .get(1)
        .map(|array| cast(array, &DataType::Boolean))
        .transpose()?;
    text_rows(rows, |index| {
        let Some(name) = text_at(&names, index) else {
            return Ok(None);
        };
        let lowered = name.to_lowercase();
        let value = context
            .settings
            .iter()
            .find(|(setting, _)| *setting == lowered)
            .map(|(_, value)| value.clone());
        let missing_ok = missing_ok
            .as_ref()
            .is_some_and(|flags| flags.is_valid(index) && flags.as_boolean().value(index));
        match value {
            Some(value) => Ok(Some(value)),
            None if missing_ok => Ok(None),
            None => plan_err!("unrecognized configuration parameter \"{name}\""),
        }
    })
}

fn current_schema(_: &CatalogContext, _: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    Ok(constant_text(rows, "public"))
}

fn current_database(_: &CatalogContext, _: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    Ok(constant_text(rows, oids::DATABASE_NAME))
}

fn current_user(context: &CatalogContext, _: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    Ok(constant_text(rows, &context.identity.user))
}

/// The search path, with `pg_catalog` (searched first, implicitly) when asked for.
fn current_schemas(_: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let implicit = cast(&args[0], &DataType::Boolean)?;
    let implicit = implicit.as_boolean();
    let mut builder = ListBuilder::new(StringBuilder::new()).with_field(Arc::new(Field::new(
        "item",
        DataType::Utf8,
        true,
    )));
    for index in 0..rows {
        if implicit.is_valid(index) && implicit.value(index) {
            builder.values().append_value("pg_catalog");
        }
        builder.values().append_value("public");
        builder.append(true);
    }
    Ok(Arc::new(builder.finish()))
}

/// `quote_ident(name)`: the name as Postgres writes an identifier (`quote_identifier`).
fn quote_ident(_: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let names = texts(&args[0])?;
    text_rows(rows, |index| {
        Ok(text_at(&names, index).map(quote_identifier))
    })
}

/// Postgres quotes an identifier unless it is lower case letters, digits, `_` and `$`,
/// not starting with a digit or `$`, and not a key word other than an unreserved one.
fn quote_identifier(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|first| first.is_ascii_lowercase() || first == '_')
        && name.chars().all(|character| {
            character.is_ascii_lowercase()
                || character.is_ascii_digit()
                || character == '_'
                || character == '$'
        })
        && !keywords::needs_quotes(name);
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// `format(formatstr, value ..)`, as Postgres' `format()`: a NULL format is NULL.
fn format(_: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let formats = texts(&args[0])?;
    let values = args[1..]
        .iter()
        .map(argument_texts)
        .collect::<Result<Vec<StringArray>>>()?;
    text_rows(rows, |index| {
        let Some(format) = text_at(&formats, index) else {
            return Ok(None);
        };
        let row: Vec<Option<&str>> = values.iter().map(|value| text_at(value, index)).collect();
        match format_row(format, &row) {
            Ok(text) => Ok(Some(text)),
            Err(message) => exec_err!("{message}"),
        }
    })
}

/// A `format()` argument as Postgres writes its value in text (a boolean is `t` or `f`).
fn argument_texts(array: &ArrayRef) -> Result<StringArray> {
    if let DataType::Boolean = array.data_type() {
        let flags = array.as_boolean();
        return Ok((0..flags.len())
            .map(|index| {
                flags
                    .is_valid(index)
                    .then(|| if flags.value(index) { "t" } else { "f" })
            })
            .collect());
    }
    texts(array)
}

/// One row of `format()`: `%[n$][-][width]type`, where the width is digits, `*` (the next
/// argument) or `*m$`, and the type is `s` (the value; NULL as nothing), `I` (quoted as an
/// identifier; NULL is an error) or `L` (quoted as a literal; NULL as `NULL`); `%%` is `%`.
/// An argument without a position is the one after the last one used. The errors are
/// Postgres' messages.
fn format_row(format: &str, arguments: &[Option<&str>]) -> std::result::Result<String, String> {
    let mut output = String::with_capacity(format.len());
    let mut characters = format.chars().peekable();
    let mut next_argument = 0;
    while let Some(character) = characters.next() {
        if character != '%' {
            output.push(character);
            continue;
        }
        if characters.next_if_eq(&'%').is_some() {
            output.push('%');
            continue;
        }
        let specifier = parse_specifier(&mut characters)?;
        let mut left_align = specifier.left_align;
        let width = match specifier.width {
            Width::None => 0,
            Width::Fixed(width) => width,
            Width::FromArgument(position) => {
                let index = argument_index(position, &mut next_argument, arguments.len())?;
                let width = match arguments[index] {
                    // Postgres treats a NULL width as zero.
                    None => 0,
                    Some(text) => text.trim().parse::<i64>().map_err(|_| {
                        format!("invalid input syntax for type integer: \"{text}\"")
                    })?,
                };
                if width < 0 {
                    left_align = true;
                }
                usize::try_from(width.unsigned_abs()).map_err(|_| "number is out of range")?
            }
        };
        let index = argument_index(specifier.position, &mut next_argument, arguments.len())?;
        let value = arguments[index];
        let text = match specifier.kind {
            's' => value.unwrap_or_default().to_string(),
            'I' => match value {
                Some(name) => quote_identifier(name),
                None => return Err("null values cannot be formatted as an SQL identifier".into()),
            },
            'L' => value.map_or_else(|| "NULL".to_string(), quote_literal),
            other => return Err(format!("unrecognized format() type specifier \"{other}\"")),
        };
        let padding = width.saturating_sub(text.chars().count());
        if left_align {
            output.push_str(&text);
            output.extend(std::iter::repeat_n(' ', padding));
        } else {
            output.extend(std::iter::repeat_n(' ', padding));
            output.push_str(&text);
        }
    }
    Ok(output)
}

/// A `format()` specifier after its `%`.
struct Specifier {
    /// The argument's position (from 1), if given.
    position: Option<usize>,
    left_align: bool,
    width: Width,
    kind: char,
}

enum Width {
    None,
    Fixed(usize),
    /// `*` (the next argument) or `*n$`.
    FromArgument(Option<usize>),
}

fn parse_specifier(
    characters: &mut std::iter::Peekable<std::str::Chars<'_>>,
) -> std::result::Result<Specifier, String> {
    let unterminated = || "unterminated format() type specifier".to_string();
    let mut position = None;
    let mut width = Width::None;
    if let Some(number) = parse_number(characters)? {
        if characters.next_if_eq(&'$').is_some() {
            position = Some(argument_position(number)?);
        } else {
            width = Width::Fixed(number);
        }
    }
    let mut left_align = false;
    if matches!(width, Width::None) {
        while characters.next_if_eq(&'-').is_some() {
            left_align = true;
        }
        if characters.next_if_eq(&'*').is_some() {
            let from = match parse_number(characters)? {
                Some(number) => {
                    if characters.next_if_eq(&'$').is_none() {
                        return Err("width argument position must be ended by \"$\"".into());
                    }
                    Some(argument_position(number)?)
                }
                None => None,
            };
            width = Width::FromArgument(from);
        } else if let Some(number) = parse_number(characters)? {
            width = Width::Fixed(number);
        }
    }
    let kind = characters.next().ok_or_else(unterminated)?;
    Ok(Specifier {
        position,
        left_align,
        width,
        kind,
    })
}

fn parse_number(
    characters: &mut std::iter::Peekable<std::str::Chars<'_>>,
) -> std::result::Result<Option<usize>, String> {
    let mut digits = String::new();
    while let Some(digit) = characters.next_if(char::is_ascii_digit) {
        digits.push(digit);
    }
    if digits.is_empty() {
        return Ok(None);
    }
    digits
        .parse::<i32>()
        .ok()
        .and_then(|number| usize::try_from(number).ok())
        .map(Some)
        .ok_or_else(|| "number is out of range".to_string())
}

fn argument_position(number: usize) -> std::result::Result<usize, String> {
    if number == 0 {
        return Err("format specifies argument 0, but arguments are numbered from 1".into());
    }
    Ok(number)
}

/// The index of the argument a specifier uses (its position, or the one after the last
/// used), moving on past it.
fn argument_index(
    position: Option<usize>,
    next_argument: &mut usize,
    count: usize,
) -> std::result::Result<usize, String> {
    let index = position.map_or(*next_argument, |position| position - 1);
    if index >= count {
        return Err("too few arguments for format()".into());
    }
    *next_argument = index + 1;
    Ok(index)
}

/// Postgres' `quote_literal`: in single quotes, each doubled, and with an `E` prefix and
/// backslashes doubled when there is one.
fn quote_literal(value: &str) -> String {
    let quoted = value.replace('\'', "''");
    if value.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

/// `eddy_member_of(x, set)`: `x IN (subquery)` as Postgres answers it, the subquery's rows
/// gathered in an array: true if an element equals `x`; NULL if none does but `x` or an
/// element is NULL; false for no rows (an empty or NULL array).
fn member_of(_: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let (needles, sets) = (&args[0], &args[1]);
    let DataType::List(_) = sets.data_type() else {
        return plan_err!("{MEMBER_OF} takes a value and an array");
    };
    let sets = sets.as_list::<i32>();
    let values = (0..rows)
        .map(|index| {
            if sets.is_null(index) {
                return Ok(Some(false));
            }
            let elements = sets.value(index);
            if elements.is_empty() {
                return Ok(Some(false));
            }
            let needle = ScalarValue::try_from_array(needles, index)?;
            let mut unknown = needle.is_null();
            for position in 0..elements.len() {
                let element = ScalarValue::try_from_array(&elements, position)?;
                if element.is_null() {
                    unknown = true;
                } else if !needle.is_null() && element == needle {
                    return Ok(Some(true));
                }
            }
            Ok((!unknown).then_some(false))
        })
        .collect::<Result<Vec<Option<bool>>>>()?;
    Ok(Arc::new(BooleanArray::from(values)))
}

/// `parse_ident('a."B c"')`: a qualified name's parts, unquoted ones folded to lower case;
/// a malformed name is an error, as in Postgres.
fn parse_ident(_: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let names = texts(&args[0])?;
    let mut builder = ListBuilder::new(StringBuilder::new()).with_field(Arc::new(Field::new(
        "item",
        DataType::Utf8,
        true,
    )));
    for index in 0..rows {
        match text_at(&names, index) {
            Some(name) => {
                for part in identifier_parts(name)? {
                    builder.values().append_value(part);
                }
                builder.append(true);
            }
            None => builder.append(false),
        }
    }
    Ok(Arc::new(builder.finish()))
}

fn identifier_parts(name: &str) -> Result<Vec<String>> {
    let mut parts = Vec::new();
    let mut characters = name.trim().chars().peekable();
    loop {
        let mut part = String::new();
        if characters.peek() == Some(&'"') {
            characters.next();
            loop {
                match characters.next() {
                    Some('"') if characters.peek() == Some(&'"') => {
                        characters.next();
                        part.push('"');
                    }
                    Some('"') => break,
                    Some(character) => part.push(character),
                    None => return plan_err!("string is not a valid identifier: \"{name}\""),
                }
            }
        } else {
            while let Some(character) = characters.next_if(|character| *character != '.') {
                part.push(character);
            }
            part = part.trim().to_lowercase();
        }
        if part.is_empty() {
            return plan_err!("string is not a valid identifier: \"{name}\"");
        }
        parts.push(part);
        match characters.next() {
            None => return Ok(parts),
            Some('.') => {}
            Some(_) => return plan_err!("string is not a valid identifier: \"{name}\""),
        }
    }
}

fn to_regtype(_: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let names = texts(&args[0])?;
    oid_rows(rows, |index| {
        Ok(text_at(&names, index).and_then(oids::type_oid_by_name))
    })
}

fn to_regclass(context: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let names = texts(&args[0])?;
    let catalog = read_catalog(context)?;
    oid_rows(rows, |index| {
        Ok(text_at(&names, index).and_then(|name| relations::relation_oid_by_name(&catalog, name)))
    })
}

fn to_regnamespace(_: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let names = texts(&args[0])?;
    oid_rows(rows, |index| {
        Ok(
            text_at(&names, index)
                .and_then(|name| relations::namespace_oid(name.trim_matches('"'))),
        )
    })
}

/// `array_upper(a, 1)`: the last index of a one-dimensional array (NULL when empty).
fn array_upper(_: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    array_bound(args, rows, true)
}

/// `array_lower(a, 1)`: 1 for a non-empty one-dimensional array.
fn array_lower(_: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    array_bound(args, rows, false)
}

fn array_bound(args: &[ArrayRef], rows: usize, upper: bool) -> Result<ArrayRef> {
    let dimensions = ints(&args[1])?;
    let lengths = list_lengths(&args[0], rows);
    let bounds: Vec<Option<i64>> = (0..rows)
        .map(|index| {
            let length = lengths[index].filter(|length| *length > 0)?;
            if int_at(&dimensions, index) != Some(1) {
                return None;
            }
            Some(if upper {
                i64::try_from(length).unwrap_or(i64::MAX)
            } else {
                1
            })
        })
        .collect();
    Ok(Arc::new(Int64Array::from(bounds)))
}

fn expanded_array_type() -> DataType {
    let pair = Fields::from(vec![
        Field::new("x", DataType::Int64, true),
        Field::new("n", DataType::Int64, false),
    ]);
    DataType::new_list(DataType::Struct(pair), true)
}

/// The lengths of a one-dimensional array argument, row by row (None for NULL or a value
/// that is not an array).
fn list_lengths(array: &ArrayRef, rows: usize) -> Vec<Option<usize>> {
    match array.data_type() {
        DataType::List(_) => {
            let lists = array.as_list::<i32>();
            (0..rows)
                .map(|index| {
                    lists
                        .is_valid(index)
                        .then(|| usize::try_from(lists.value_length(index)).unwrap_or(0))
                })
                .collect()
        }
        _ => vec![None; rows],
    }
}

/// `eddy_subscripts(a)`: `[1, 2, .., len(a)]`.
fn subscripts(_: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let mut builder = ListBuilder::new(Int64Builder::new());
    for length in list_lengths(&args[0], rows) {
        match length {
            Some(length) => {
                for subscript in 1..=length {
                    builder
                        .values()
                        .append_value(i64::try_from(subscript).unwrap_or(i64::MAX));
                }
                builder.append(true);
            }
            None => builder.append(false),
        }
    }
    Ok(Arc::new(builder.finish()))
}

/// `eddy_expand_array(a)`: `[(a[1], 1), (a[2], 2), ..]`, elements as BIGINT (the arrays
/// `_pg_expandarray` is called on are of column numbers and OIDs).
fn expand_array(_: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let lengths = list_lengths(&args[0], rows);
    let DataType::List(pair_field) = expanded_array_type() else {
        return plan_err!("eddy_expand_array returns a list");
    };
    let DataType::Struct(pair) = pair_field.data_type().clone() else {
        return plan_err!("eddy_expand_array returns a list of pairs");
    };
    let mut elements = Vec::new();
    let mut numbers = Vec::new();
    let mut offsets = vec![0_i32];
    let mut valid = Vec::with_capacity(rows);
    let lists = matches!(args[0].data_type(), DataType::List(_)).then(|| args[0].as_list::<i32>());
    for (index, length) in lengths.iter().enumerate() {
        if let (Some(length), Some(lists)) = (length, lists) {
            let values = ints(&lists.value(index))?;
            for position in 0..*length {
                elements.push(int_at(&values, position));
                numbers.push(i64::try_from(position).unwrap_or(i64::MAX - 1) + 1);
            }
        }
        valid.push(length.is_some());
        let end = i32::try_from(elements.len())
            .map_err(|_| datafusion::error::DataFusionError::Internal("array too long".into()))?;
        offsets.push(end);
    }
    let pairs = StructArray::try_new(
        pair,
        vec![
            Arc::new(Int64Array::from(elements)) as ArrayRef,
            Arc::new(Int64Array::from(numbers)) as ArrayRef,
        ],
        None,
    )?;
    Ok(Arc::new(ListArray::try_new(
        pair_field,
        OffsetBuffer::new(offsets.into()),
        Arc::new(pairs),
        Some(valid.into()),
    )?))
}

/// A relation's size on disk, which Eddy does not track per relation (its logs and state
/// are shared files): unknown, NULL.
fn no_size(_: &CatalogContext, _: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    Ok(Arc::new(Int64Array::from(vec![None; rows])))
}

/// `pg_size_pretty(bytes)` as Postgres writes it: bytes below 10 kB, then kB, MB, GB, TB,
/// each unit taken while the value stays below 10240 of it, rounded half up.
fn size_pretty(_: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let sizes = ints(&args[0])?;
    text_rows(rows, |index| {
        Ok(int_at(&sizes, index).map(|bytes| {
            if bytes.abs() < 10 * 1024 {
                return format!("{bytes} bytes");
            }
            let mut size = bytes;
            for unit in ["kB", "MB", "GB"] {
                let half_rounded = (size.abs() / 512 + 1) / 2 * size.signum();
                if half_rounded.abs() < 10 * 1024 {
                    return format!("{half_rounded} {unit}");
                }
                size /= 1024;
            }
            format!("{} TB", (size.abs() / 512 + 1) / 2 * size.signum())
        }))
    })
}

/// One connection number for all: Eddy's sessions have no process of their own.
fn backend_pid(_: &CatalogContext, _: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    Ok(Arc::new(Int32Array::from(vec![1; rows])))
}

fn read_catalog(context: &CatalogContext) -> Result<eddy_planner::Catalog> {
    Ok(context
        .catalog
        .read()
        .map_err(|_| datafusion::error::DataFusionError::Internal("catalog lock poisoned".into()))?
        .clone())
}

/// `x::regclass`: a relation's name (text) to its OID, an OID as it is.
fn regclass(context: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    if !is_text(&args[0]) {
        return Ok(Arc::new(ints(&args[0])?));
    }
    let names = texts(&args[0])?;
    let catalog = read_catalog(context)?;
    oid_rows(rows, |index| match text_at(&names, index) {
        None => Ok(None),
        Some(name) => match relations::relation_oid_by_name(&catalog, name) {
            Some(oid) => Ok(Some(oid)),
            None => plan_err!("relation \"{name}\" does not exist"),
        },
    })
}

/// `x::regtype`: a type's name to its OID, an OID as it is.
fn regtype(_: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    if !is_text(&args[0]) {
        return Ok(Arc::new(ints(&args[0])?));
    }
    let names = texts(&args[0])?;
    oid_rows(rows, |index| match text_at(&names, index) {
        None => Ok(None),
        Some(name) => match oids::type_oid_by_name(name) {
            Some(oid) => Ok(Some(oid)),
            None => plan_err!("type \"{name}\" does not exist"),
        },
    })
}

fn regnamespace(_: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    if !is_text(&args[0]) {
        return Ok(Arc::new(ints(&args[0])?));
    }
    let names = texts(&args[0])?;
    oid_rows(rows, |index| match text_at(&names, index) {
        None => Ok(None),
        Some(name) => match relations::namespace_oid(name.trim_matches('"')) {
            Some(oid) => Ok(Some(oid)),
            None => plan_err!("schema \"{name}\" does not exist"),
        },
    })
}

/// `x::regproc`: a function's name without `pg_catalog.` (as `pg_type.typinput` holds
/// it), or the name of the function with that OID.
fn regproc(context: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    if is_text(&args[0]) {
        let names = texts(&args[0])?;
        return text_rows(rows, |index| {
            Ok(text_at(&names, index)
                .map(|name| name.strip_prefix("pg_catalog.").unwrap_or(name).to_string()))
        });
    }
    let function_oids = ints(&args[0])?;
    let names = &context.function_names;
    text_rows(rows, |index| {
        Ok(int_at(&function_oids, index).map(|oid| {
            names
                .scalar
                .iter()
                .chain(&names.aggregate)
                .chain(&names.window)
                .find(|name| oids::function_oid(name) == oid)
                .cloned()
                .unwrap_or_else(|| oid.to_string())
        }))
    })
}

/// A function's name (as a regproc column holds it) to the OID `pg_proc` gives it.
fn regproc_oid(_: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let names = texts(&args[0])?;
    oid_rows(rows, |index| {
        Ok(text_at(&names, index)
            .map(|name| oids::function_oid(name.strip_prefix("pg_catalog.").unwrap_or(name))))
    })
}

/// `x::regclass::text`: the relation's name (its OID when none has it, as Postgres shows).
fn regclass_text(context: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    if is_text(&args[0]) {
        return Ok(Arc::new(texts(&args[0])?));
    }
    let relation_oids = ints(&args[0])?;
    let catalog = read_catalog(context)?;
    text_rows(rows, |index| {
        Ok(int_at(&relation_oids, index).map(|oid| {
            relations::relation_name_by_oid(&catalog, oid).unwrap_or_else(|| oid.to_string())
        }))
    })
}

/// `x::regtype::text`: the type's SQL name, as `format_type` writes it (`'int8'` reads as
/// `bigint`).
fn regtype_text(context: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    let type_oids = ints(&regtype(context, args, rows)?)?;
    text_rows(rows, |index| {
        Ok(int_at(&type_oids, index)
            .map(|oid| oids::format_type(oid, None).unwrap_or_else(|| oid.to_string())))
    })
}

fn regnamespace_text(_: &CatalogContext, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
    if is_text(&args[0]) {
        return Ok(Arc::new(texts(&args[0])?));
    }
    let namespace_oids = ints(&args[0])?;
    text_rows(rows, |index| {
        Ok(int_at(&namespace_oids, index).map(|oid| {
            relations::NAMESPACES
                .iter()
                .find(|(namespace, _)| *namespace == oid)
                .map_or_else(|| oid.to_string(), |(_, name)| name.to_string())
        }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format_texts(format_text: Option<&str>, values: Vec<ArrayRef>) -> Result<Option<String>> {
        let mut args: Vec<ArrayRef> = vec![Arc::new(StringArray::from(vec![format_text]))];
        args.extend(values);
        let result = format(&CatalogContext::default(), &args, 1)?;
        Ok(text_at(&texts(&result)?, 0).map(str::to_string))
    }

    fn text_value(value: Option<&str>) -> ArrayRef {
        Arc::new(StringArray::from(vec![value]))
    }

    fn formatted(format_text: &str, arguments: &[Option<&str>]) -> String {
        format_row(format_text, arguments).unwrap_or_else(|error| panic!("{format_text}: {error}"))
    }

    // Each expectation is what Postgres 15 answers.
    #[test]
    fn s_writes_the_value_and_nothing_for_null() {
        assert_eq!(
            formatted("Hello %s, %s", &[Some("World"), Some("1")]),
            "Hello World, 1"
        );
        assert_eq!(formatted("%s|", &[None]), "|");
        assert_eq!(formatted("x", &[]), "x");
    }

    #[test]
    fn i_quotes_identifiers_as_quote_ident_and_refuses_null() {
        assert_eq!(formatted("%I", &[Some("Foo bar")]), "\"Foo bar\"");
        assert_eq!(formatted("%I", &[Some("users")]), "users");
        assert_eq!(formatted("%I", &[Some("user")]), "\"user\"");
        assert_eq!(
            formatted("%I.%I", &[Some("public"), Some("Clicks")]),
            "public.\"Clicks\""
        );
        assert_eq!(
            format_row("%I", &[None]),
            Err("null values cannot be formatted as an SQL identifier".into())
        );
    }

    #[test]
    fn l_quotes_literals_and_writes_null_bare() {
        assert_eq!(formatted("%L", &[Some("O'Reilly")]), "'O''Reilly'");
        assert_eq!(formatted("%L", &[Some("a\\b")]), "E'a\\\\b'");
        assert_eq!(formatted("%L", &[None]), "NULL");
        assert_eq!(formatted("%L", &[Some("42")]), "'42'");
    }

    #[test]
    fn percent_percent_is_a_percent_sign() {
        assert_eq!(formatted("100%%", &[]), "100%");
    }

    #[test]
    fn positions_widths_and_flags() {
        assert_eq!(formatted("%2$s %1$s %s", &[Some("a"), Some("b")]), "b a b");
        assert_eq!(
            formatted("|%10s|%-10s|", &[Some("right"), Some("left")]),
            "|     right|left      |"
        );
        assert_eq!(formatted("|%*s|", &[Some("6"), Some("x")]), "|     x|");
        assert_eq!(formatted("|%*s|", &[Some("-6"), Some("x")]), "|x     |");
        assert_eq!(formatted("|%-*s|", &[Some("6"), Some("x")]), "|x     |");
        assert_eq!(formatted("|%*s|", &[None, Some("x")]), "|x|");
    }

    #[test]
    fn malformed_formats_are_postgres_errors() {
        for (format_text, arguments, message) in [
            ("%s %s", vec![Some("a")], "too few arguments for format()"),
            (
                "|%*2$s|",
                vec![Some("x"), Some("4")],
                "too few arguments for format()",
            ),
            (
                "%x",
                vec![Some("1")],
                "unrecognized format() type specifier \"x\"",
            ),
            (
                "%0$s",
                vec![Some("1")],
                "format specifies argument 0, but arguments are numbered from 1",
            ),
            ("%", vec![Some("1")], "unterminated format() type specifier"),
            (
                "%1",
                vec![Some("1")],
                "unterminated format() type specifier",
            ),
            (
                "%*1s",
                vec![Some("1")],
                "width argument position must be ended by \"$\"",
            ),
        ] {
            assert_eq!(
                format_row(format_text, &arguments),
                Err(message.to_string()),
                "{format_text}"
            );
        }
    }

    #[test]
    fn a_null_format_is_null_and_values_are_written_as_postgres_writes_them() {
        assert_eq!(
            format_texts(None, vec![text_value(Some("a"))]).ok(),
            Some(None)
        );
        let flag: ArrayRef = Arc::new(BooleanArray::from(vec![true]));
        let number: ArrayRef = Arc::new(Int64Array::from(vec![7]));
        assert_eq!(
            format_texts(Some("%s %s"), vec![flag, number]).ok(),
            Some(Some("t 7".to_string()))
        );
        assert!(format_texts(Some("%I"), vec![text_value(None)]).is_err());
    }

    #[test]
    fn member_of_answers_in_as_postgres() {
        let set = |values: Option<Vec<Option<&str>>>| -> ArrayRef {
            let mut builder = ListBuilder::new(StringBuilder::new());
            match values {
                Some(values) => {
                    for value in values {
                        builder.values().append_option(value);
                    }
                    builder.append(true);
                }
                None => builder.append(false),
            }
            Arc::new(builder.finish())
        };
        let member = |needle: Option<&str>, values: Option<Vec<Option<&str>>>| {
            let result = member_of(
                &CatalogContext::default(),
                &[text_value(needle), set(values)],
                1,
            )
            .expect("member_of answers");
            let flags = result.as_boolean();
            flags.is_valid(0).then(|| flags.value(0))
        };
        assert_eq!(
            member(Some("a"), Some(vec![Some("b"), Some("a")])),
            Some(true)
        );
        assert_eq!(member(Some("a"), Some(vec![Some("b")])), Some(false));
        assert_eq!(member(Some("a"), Some(vec![Some("b"), None])), None);
        assert_eq!(member(None, Some(vec![Some("b")])), None);
        assert_eq!(member(None, Some(vec![])), Some(false));
        assert_eq!(member(None, None), Some(false));
    }
}
