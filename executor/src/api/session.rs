//! A client's session: the one public way to run statements against an engine.
//!
//! The server, the shell and the tests all drive this API. A session holds the client's
//! properties (`SET 'auto.offset.reset' = 'earliest'`) and dispatches each statement to the
//! module that runs it. Prepared statements (the extended protocol) are parsed once and
//! executed with parameters many times.
//!
//! Never: hold a lock across an await that waits on a client.

use std::sync::Arc;

use arrow::datatypes::{DataType, SchemaRef};
use datafusion::scalar::ScalarValue;
use eddy_parser::{Explain, ExplainTarget, ParsedStatement, Statement};

use crate::access::Principal;
use crate::engine::EngineCore;
use crate::error::{EngineError, EngineResult};
use crate::output::{CommandComplete, QueryOutput};
use crate::session_properties::{Identity, OWNER_NAME, SessionProperties};
use crate::statements::select::{self as query, PlannedPull};
use crate::statements::{access_check, users};
use crate::statements::{copy, ddl, explain, insert, properties, show, table_dml, types};

/// One client's connection to the engine.
pub struct Session {
    engine: Arc<EngineCore>,
    properties: SessionProperties,
    /// Whose privileges each statement is checked against.
    principal: Principal,
}

/// A statement parsed (and where possible planned) once, to be executed many times.
#[derive(Clone, Debug)]
pub struct PreparedStatement {
    sql: String,
    statement: Option<ParsedStatement>,
    parameter_types: Vec<DataType>,
    result_schema: Option<SchemaRef>,
    /// A pull query's plan, made once, with the catalog version it was made at.
    pull_plan: Option<(u64, Arc<PlannedPull>)>,
}

impl PreparedStatement {
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The type of each parameter `$1`, `$2`, ... in order.
    pub fn parameter_types(&self) -> &[DataType] {
        &self.parameter_types
    }

    /// The statement; None for a query of only comments.
    pub fn statement(&self) -> Option<&ParsedStatement> {
        self.statement.as_ref()
    }

    /// The columns of the rows it returns; None for statements without rows and for COPY.
    pub fn result_schema(&self) -> Option<SchemaRef> {
        self.result_schema.clone()
    }
}

impl Session {
    pub(crate) fn new(engine: Arc<EngineCore>) -> Self {
        Self {
            engine,
            properties: SessionProperties::default(),
            principal: Principal::Trusted,
        }
    }

    /// Sets who runs the session's statements: the user a client logged in as. A session
    /// starts `Trusted` (in-process callers, and clients let in without a password).
    pub fn set_principal(&mut self, principal: Principal) {
        self.principal = principal;
    }

    /// Who the session runs as now (an ALTER USER in another session may have changed it).
    fn identity(&self) -> Identity {
        let user = match &self.principal {
            Principal::Trusted => OWNER_NAME.to_string(),
            Principal::User(name) => name.clone(),
        };
        Identity {
            user,
            superuser: self.engine.access().is_superuser(&self.principal),
        }
    }

    /// Sets a setting from the client's startup packet (`application_name`): the session's
    /// default, which SHOW reports and RESET and DISCARD ALL return to. Settings Eddy does
    /// not take from a startup packet are ignored, as the packet's other parameters are.
    pub fn set_startup_setting(&mut self, name: &str, value: &str) {
        let name = name.to_lowercase();
        if name == "application_name" {
            self.properties.set_startup(name, value.to_owned());
        }
    }

    /// A setting's value as SHOW gives it; None for a setting Eddy does not know.
    pub fn setting(&self, name: &str) -> Option<String> {
        let mut properties = self.properties.clone();
        properties.set_identity(self.identity());
        crate::session_properties::setting_value(&properties, &name.to_lowercase())
    }

    /// Splits a query string into its statements (none for an empty string).
    pub fn parse(&self, sql: &str) -> EngineResult<Vec<ParsedStatement>> {
        Ok(eddy_parser::parse_sql(sql)?)
    }

    /// Runs one statement.
    pub async fn execute(&mut self, statement: &ParsedStatement) -> EngineResult<QueryOutput> {
        self.execute_with(statement, &[]).await
    }

    /// Parses one statement for the extended protocol and works out its parameter types and
    /// result columns.
    pub async fn prepare(&mut self, sql: &str) -> EngineResult<PreparedStatement> {
        let mut statements = self.parse(sql)?;
        if statements.len() > 1 {
            return Err(eddy_planner::PlanError::Invalid {
                message: "cannot insert multiple commands into a prepared statement".into(),
            }
            .into());
        }
        let statement = statements.pop();
        let (parameter_types, result_schema) = match &statement {
            Some(statement) => self.describe(&statement.statement).await?,
            None => (Vec::new(), None),
        };
        let pull_plan = match statement.as_ref().map(|parsed| &parsed.statement) {
            Some(Statement::Select(select)) if select.emit.is_none() => {
                let version = self.engine.catalog_version();
                let plan = query::plan_pull(&self.engine, &self.identity(), select).await?;
                Some((version, Arc::new(plan)))
            }
            _ => None,
        };
        Ok(PreparedStatement {
            sql: sql.to_string(),
            statement,
            parameter_types,
            result_schema,
            pull_plan,
        })
    }

    /// Runs a prepared statement with its parameters.
    pub async fn execute_prepared(
        &mut self,
        prepared: &PreparedStatement,
        parameters: Vec<ScalarValue>,
    ) -> EngineResult<QueryOutput> {
        if parameters.len() != prepared.parameter_types.len() {
            return Err(eddy_planner::PlanError::Invalid {
                message: format!(
                    "the statement takes {} parameters but {} were given",
                    prepared.parameter_types.len(),
                    parameters.len()
                ),
            }
            .into());
        }
        if let Some((version, plan)) = &prepared.pull_plan
            && *version == self.engine.catalog_version()
            && let Some(parsed) = &prepared.statement
        {
            access_check::check_statement(&self.engine, &self.principal, &parsed.statement)?;
            let rows = query::pull_planned(&self.engine, plan, &parameters).await?;
            return Ok(QueryOutput::Rows(rows));
        }
        match &prepared.statement {
            Some(statement) => self.execute_with(statement, &parameters).await,
            None => Ok(QueryOutput::Command(CommandComplete::new("EMPTY"))),
        }
    }

    async fn execute_with(
        &mut self,
        parsed: &ParsedStatement,
        parameters: &[ScalarValue],
    ) -> EngineResult<QueryOutput> {
        if self.engine.is_shutting_down() {
            return Err(EngineError::ShuttingDown);
        }
        let engine = self.engine.clone();
        access_check::check_statement(&engine, &self.principal, &parsed.statement)?;
        access_check::check_read_only(&self.properties, &parsed.statement)?;
        self.properties.set_identity(self.identity());
        match &parsed.statement {
            Statement::InsertSelect(insert) if table_dml::inserts_into_table(&engine, insert) => {
                table_dml::insert_select(&engine, insert, parameters).await
            }
            Statement::CreateSource(_)
            | Statement::CreateAsSelect(_)
            | Statement::InsertSelect(_)
            | Statement::Terminate(_)
            | Statement::Drop { .. }
            | Statement::CreateType { .. }
            | Statement::DropType { .. } => {
                // A catalog change runs to its end even if the client goes away (dropping
                // this future): between persisting a change and publishing it, it must not
                // stop.
                let parsed = parsed.clone();
                let properties = self.properties.clone();
                tokio::spawn(async move { change_catalog(&engine, &parsed, &properties).await })
                    .await
                    .map_err(|error| {
                        EngineError::Internal(format!("catalog change task failed: {error}"))
                    })?
            }
            Statement::InsertValues(values) => {
                insert::insert_values(&engine, values, parameters).await
            }
            Statement::Select(select) => {
                query::select(&engine, &self.properties, select, parameters)
                    .await
                    .map(QueryOutput::Rows)
            }
            Statement::Copy(select) => query::select(&engine, &self.properties, select, parameters)
                .await
                .map(QueryOutput::CopyOut),
            Statement::Delete(delete) => table_dml::delete(&engine, delete, parameters).await,
            Statement::Update(update) => table_dml::update(&engine, update, parameters).await,
            Statement::CopyFrom(copy) => {
                copy::open(&engine, copy).map(|sink| QueryOutput::CopyIn(Box::new(sink)))
            }
            Statement::ShowStreams { .. } => {
                show::show_sources(&engine, eddy_planner::SourceKind::Stream)
            }
            Statement::ShowTables { .. } => {
                show::show_sources(&engine, eddy_planner::SourceKind::Table)
            }
            Statement::ShowQueries { .. } => show::show_queries(&engine),
            Statement::ShowTypes => show::show_types(&engine),
            Statement::ShowProperties => Ok(properties::show_properties(&self.properties)),
            Statement::ShowVariable { name } => properties::show_variable(&self.properties, name),
            Statement::Describe { name, .. } => show::describe(&engine, name),
            Statement::Set { name, value } => properties::set(&mut self.properties, name, value),
            Statement::SetSessionCharacteristics { settings } => {
                properties::set_session_characteristics(&mut self.properties, settings)
            }
            Statement::Unset { name, spelling } => {
                properties::unset(&mut self.properties, name, *spelling)
            }
            Statement::Transaction(transaction) => {
                properties::transaction(&mut self.properties, transaction)?;
                Ok(QueryOutput::Transaction(transaction.clone()))
            }
            Statement::Discard(target) => Ok(properties::discard(&mut self.properties, *target)),
            // The server drops the prepared statement: it holds them.
            Statement::Deallocate(name) => {
                Ok(QueryOutput::Command(CommandComplete::new(match name {
                    Some(_) => "DEALLOCATE",
                    None => "DEALLOCATE ALL",
                })))
            }
            Statement::CreateUser(_)
            | Statement::AlterUser(_)
            | Statement::DropUser { .. }
            | Statement::Grant(_)
            | Statement::Revoke(_) => {
                users::run_access_statement(&engine, &self.principal, &parsed.statement).await
            }
            Statement::Explain(explain) => self.explain(&engine, explain).await,
        }
    }

    /// EXPLAIN: each statement family plans its own statement, as it would to run it.
    async fn explain(&self, engine: &EngineCore, explain: &Explain) -> EngineResult<QueryOutput> {
        let statement = match &explain.target {
            ExplainTarget::Query(id) => {
                return explain::explain_query(engine, id, explain.analyze);
            }
            ExplainTarget::Statement(statement) => statement.as_ref(),
        };
        let properties = &self.properties;
        match statement {
            Statement::Select(select) => {
                explain::explain_select(engine, properties, select, explain.analyze).await
            }
            _ if explain.analyze => Err(explain::refuse_analyze()),
            Statement::CreateAsSelect(create) => {
                ddl::explain_create_as_select(engine, create, properties).await
            }
            Statement::InsertSelect(insert) if table_dml::inserts_into_table(engine, insert) => {
                table_dml::explain_insert_select()
            }
            Statement::InsertSelect(insert) => {
                ddl::explain_insert_select(engine, insert, properties).await
            }
            _ => Err(EngineError::Internal(format!(
                "EXPLAIN of a statement without a query: {statement:?}"
            ))),
        }
    }

    /// Parameter types and result columns of a statement, for Describe.
    async fn describe(
        &self,
        statement: &Statement,
    ) -> EngineResult<(Vec<DataType>, Option<SchemaRef>)> {
        Ok(match statement {
            Statement::Select(select) => {
                let (types, schema) =
                    query::describe(&self.engine, &self.identity(), select).await?;
                (types, Some(schema))
            }
            Statement::Copy(select) => (
                query::describe(&self.engine, &self.identity(), select)
                    .await?
                    .0,
                None,
            ),
            Statement::CopyFrom(copy) => {
                // Checked when prepared, as Postgres does: drivers prepare a COPY first.
                copy::open(&self.engine, copy)?;
                (Vec::new(), None)
            }
            Statement::InsertValues(values) => {
                (insert::parameter_types(&self.engine, values)?, None)
            }
            Statement::InsertSelect(insert)
                if table_dml::inserts_into_table(&self.engine, insert) =>
            {
                (
                    table_dml::parameter_types(&self.engine, statement).await?,
                    None,
                )
            }
            Statement::Update(_) | Statement::Delete(_) => (
                table_dml::parameter_types(&self.engine, statement).await?,
                None,
            ),
            Statement::ShowStreams { .. } | Statement::ShowTables { .. } => {
                (Vec::new(), Some(show::sources_schema()))
            }
            Statement::ShowQueries { .. } => (Vec::new(), Some(show::queries_schema())),
            Statement::ShowTypes => (Vec::new(), Some(show::types_schema())),
            Statement::Describe { .. } => (Vec::new(), Some(show::describe_schema())),
            Statement::ShowProperties => (Vec::new(), Some(properties::properties_schema())),
            Statement::ShowVariable { name } => {
                (Vec::new(), Some(properties::variable_schema(name)))
            }
            Statement::Explain(_) => (Vec::new(), Some(crate::runtime::explain::schema())),
            _ => (Vec::new(), None),
        })
    }
}

/// Runs a statement that changes the catalog (and starts or stops queries).
async fn change_catalog(
    engine: &EngineCore,
    parsed: &ParsedStatement,
    properties: &SessionProperties,
) -> EngineResult<QueryOutput> {
    match &parsed.statement {
        Statement::CreateSource(create) => ddl::create_source(engine, create).await,
        Statement::CreateAsSelect(create) => {
            ddl::create_as_select(engine, create, &parsed.sql, properties).await
        }
        Statement::InsertSelect(insert) => {
            ddl::insert_select(engine, insert, &parsed.sql, properties).await
        }
        Statement::Terminate(target) => ddl::terminate(engine, target).await,
        Statement::Drop {
            kind,
            name,
            if_exists,
            delete_topic,
        } => ddl::drop_source(engine, (*kind).into(), name, *if_exists, *delete_topic).await,
        Statement::CreateType {
            name,
            if_not_exists,
            data_type,
        } => types::create_type(engine, name, *if_not_exists, data_type).await,
        Statement::DropType { name, if_exists } => types::drop_type(engine, name, *if_exists).await,
        _ => Err(EngineError::Internal(format!(
            "not a catalog change: {}",
            parsed.sql
        ))),
    }
}
