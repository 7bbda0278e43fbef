//! How a catalog relation is declared and served: its columns (in Postgres' types as Arrow
//! holds them: OIDs as BIGINT, `"char"` and `name` as text) and a function from the catalog
//! to its rows, which a `TableProvider` calls when the relation is scanned. A row names the
//! columns it sets; the rest take their type's default (false, 0, or NULL), so the many
//! columns clients read but Eddy has nothing for stay short to declare.
//!
//! Never: cache rows between scans (a CREATE or DROP must show in the next query).

use std::fmt;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, new_empty_array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{SchemaProvider, Session, TableProvider};
use datafusion::common::{Result, ScalarValue};
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;
use eddy_parser::sqlparser::ast::{ObjectName, ObjectNamePart};
use eddy_planner::Catalog;

use super::CatalogContext;
use super::{information_schema, keywords, regproc, system_tables};

pub const PG_CATALOG: &str = "pg_catalog";
pub const INFORMATION_SCHEMA: &str = "information_schema";

/// A column's Postgres type, as Arrow holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Oid,
    Text,
    /// A function, by name, that compares as its OID (`regproc`).
    RegProc,
    /// Postgres' one-byte `"char"` (`relkind`, `typtype`).
    Char,
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    TextArray,
    OidArray,
    Int2Array,
}

impl Kind {
    pub fn data_type(self) -> DataType {
        let list = |element: DataType| DataType::new_list(element, true);
        match self {
            Kind::Oid | Kind::Int8 => DataType::Int64,
            Kind::Text | Kind::RegProc | Kind::Char => DataType::Utf8,
            Kind::Bool => DataType::Boolean,
            Kind::Int2 => DataType::Int16,
            Kind::Int4 => DataType::Int32,
            Kind::Float4 => DataType::Float32,
            Kind::TextArray => list(DataType::Utf8),
            Kind::OidArray => list(DataType::Int64),
            Kind::Int2Array => list(DataType::Int16),
        }
    }

    /// The value of a column a row does not set.
    fn default_value(self) -> Result<ScalarValue> {
        Ok(match self {
            Kind::Bool => ScalarValue::Boolean(Some(false)),
            Kind::Oid | Kind::Int2 | Kind::Int4 | Kind::Int8 | Kind::Float4 => {
                ScalarValue::Int64(Some(0)).cast_to(&self.data_type())?
            }
            _ => ScalarValue::try_from(&self.data_type())?,
        })
    }
}

/// One row: the columns it sets, by name.
pub type Row = Vec<(&'static str, ScalarValue)>;

/// What a relation's rows are built from: the catalog as of the scan, and the session's
/// context (functions, settings).
pub struct Snapshot<'a> {
    pub catalog: &'a Catalog,
    pub context: &'a CatalogContext,
}

/// A relation of `pg_catalog` or `information_schema`.
pub struct TableDef {
    pub schema: &'static str,
    pub name: &'static str,
    /// Its OID (Postgres' own where Postgres fixes one).
    pub oid: i64,
    /// A view in Postgres (`relkind` 'v').
    pub view: bool,
    pub columns: &'static [(&'static str, Kind)],
    pub rows: fn(&Snapshot<'_>) -> Vec<Row>,
}

impl TableDef {
    pub fn arrow_schema(&self) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|(name, kind)| match kind {
                Kind::RegProc => regproc::regproc_field(name),
                _ => Field::new(*name, kind.data_type(), true),
            })
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// The relation's rows as of now.
    pub fn batch(&self, context: &CatalogContext) -> Result<RecordBatch> {
        let catalog = context
            .catalog
            .read()
            .map_err(|_| DataFusionError::Internal("the catalog lock is poisoned".into()))?
            .clone();
        let rows = (self.rows)(&Snapshot {
            catalog: &catalog,
            context,
        });
        let columns = self
            .columns
            .iter()
            .map(|(name, kind)| column(&rows, name, *kind))
            .collect::<Result<Vec<ArrayRef>>>()?;
        Ok(RecordBatch::try_new(self.arrow_schema(), columns)?)
    }
}

fn column(rows: &[Row], name: &str, kind: Kind) -> Result<ArrayRef> {
    let data_type = kind.data_type();
    if rows.is_empty() {
        return Ok(new_empty_array(&data_type));
    }
    let values = rows
        .iter()
        .map(|row| match row.iter().find(|(column, _)| *column == name) {
            Some((_, value)) if value.is_null() => ScalarValue::try_from(&data_type),
            Some((_, value)) => value.cast_to(&data_type),
            None => kind.default_value(),
        })
        .collect::<Result<Vec<ScalarValue>>>()?;
    ScalarValue::iter_to_array(values)
}

/// Every catalog relation.
pub fn all_tables() -> impl Iterator<Item = &'static TableDef> {
    system_tables::TABLES
        .iter()
        .chain(information_schema::TABLES.iter())
}

fn find_table(schema: &str, name: &str) -> Option<&'static TableDef> {
    all_tables().find(|table| table.schema == schema && table.name == name)
}

/// Whether a relation a query names is a catalog relation: qualified with `pg_catalog` or
/// `information_schema` (a name unknown there too), or the unqualified name of a
/// `pg_catalog` relation or set-returning function (`pg_get_keywords()`).
pub fn is_catalog_relation(relation: &ObjectName) -> bool {
    let parts: Vec<String> = relation
        .0
        .iter()
        .filter_map(ObjectNamePart::as_ident)
        .map(|ident| match ident.quote_style {
            Some(_) => ident.value.clone(),
            None => ident.value.to_lowercase(),
        })
        .collect();
    match parts.as_slice() {
        [name] => find_table(PG_CATALOG, name).is_some() || name == keywords::PG_GET_KEYWORDS,
        [.., schema, _] => schema == PG_CATALOG || schema == INFORMATION_SCHEMA,
        [] => false,
    }
}

/// The schema `pg_catalog` or `information_schema` for a catalog session.
pub fn schema(name: &'static str, context: &CatalogContext) -> Arc<dyn SchemaProvider> {
    Arc::new(CatalogSchema {
        name,
        context: context.clone(),
    })
}

struct CatalogSchema {
    name: &'static str,
    context: CatalogContext,
}

impl fmt::Debug for CatalogSchema {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("CatalogSchema")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl SchemaProvider for CatalogSchema {
    fn table_names(&self) -> Vec<String> {
        all_tables()
            .filter(|table| table.schema == self.name)
            .map(|table| table.name.to_string())
            .collect()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        Ok(find_table(self.name, name).map(|table| {
            Arc::new(CatalogTable {
                table,
                context: self.context.clone(),
            }) as Arc<dyn TableProvider>
        }))
    }

    fn table_exist(&self, name: &str) -> bool {
        find_table(self.name, name).is_some()
    }
}

/// A catalog relation whose rows are built when it is scanned.
struct CatalogTable {
    table: &'static TableDef,
    context: CatalogContext,
}

impl fmt::Debug for CatalogTable {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("CatalogTable")
            .field("name", &self.table.name)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl TableProvider for CatalogTable {
    fn schema(&self) -> SchemaRef {
        self.table.arrow_schema()
    }

    fn table_type(&self) -> TableType {
        if self.table.view {
            TableType::View
        } else {
            TableType::Base
        }
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let batch = self.table.batch(&self.context)?;
        MemTable::try_new(self.schema(), vec![vec![batch]])?
            .scan(state, projection, filters, limit)
            .await
    }
}
