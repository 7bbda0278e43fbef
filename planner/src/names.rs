//! How a name written in SQL reads: unquoted identifiers fold to lower case, as DataFusion
//! folds them, and an object name's last part is the relation's own name. The planner's
//! rules (projection, sql, select) read names here, so none of them depends on another for
//! it.
//!
//! Never: fold a quoted identifier.

use eddy_parser::sqlparser::ast::{Ident, ObjectName, ObjectNamePart};

/// Folds a name the way DataFusion does: unquoted identifiers to lower case.
pub(crate) fn fold(ident: &Ident) -> String {
    if ident.quote_style.is_some() {
        ident.value.clone()
    } else {
        ident.value.to_lowercase()
    }
}

pub(crate) fn object_name_last(name: &ObjectName) -> Option<&Ident> {
    match name.0.last() {
        Some(ObjectNamePart::Identifier(ident)) => Some(ident),
        _ => None,
    }
}
