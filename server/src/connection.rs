//! One client connection: its engine `Session` behind both query protocols.
//!
//! Simple protocol: `on_query` is overridden (rather than pgwire's `do_query` wrapper) so
//! that each statement of a query string can change the transaction status in order;
//! it selects the statements' work against the connection's cancel receiver itself.
//! Extended protocol: Parse prepares once through `EddyQueryParser` (psycopg and JDBC
//! reuse named statements many times); Bind queues BindComplete for the next flush instead
//! of flushing it alone; Describe answers NoData for statements without rows (pgwire would
//! send an empty RowDescription when there are parameters); Execute streams rows itself
//! with cancel, flush-when-pending and portal suspension.
//!
//! Both protocols ask `transaction.rs` before running a statement whether the transaction
//! block's state allows it (a failed block runs only its exits).
//!
//! COPY FROM STDIN: a statement that answers with a `CopyInSink` leaves the connection in
//! `CopyInProgress` with the sink in `copy_in`; the `CopyHandler` here hands the client's
//! data to `copy_in.rs` with that slot.
//!
//! Never: hold the session lock while waiting on the client (rows are sent after the
//! statement returned its stream), or call `start_query` inside a future pgwire already
//! selects against a cancel receiver.

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::copy::CopyHandler;
use pgwire::api::portal::{Format, Portal, PortalExecutionState};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{
    DescribePortalResponse, DescribeStatementResponse, FieldInfo, Response,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{
    ClientInfo, ClientPortalStore, DEFAULT_NAME, METADATA_APPLICATION_NAME, PgWireConnectionState,
    Type,
};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail};
use pgwire::messages::data::{NoData, ParameterDescription, RowDescription};
use pgwire::messages::extendedquery::{
    Bind, BindComplete, Describe, Execute, Parse, ParseComplete, TARGET_TYPE_BYTE_PORTAL,
    TARGET_TYPE_BYTE_STATEMENT,
};
use pgwire::messages::response::{CommandComplete, EmptyQueryResponse, ReadyForQuery};
use pgwire::messages::simplequery::Query;
use pgwire::messages::startup::ParameterStatus;
use tokio::sync::{Mutex, MutexGuard};

use eddy_executor::{DiscardTarget, PreparedStatement, Principal, Session, Statement};

use crate::cancel::{cancel_receiver, until_cancelled};
use crate::copy_in::{self, CopyInSlot};
use crate::error::ServerError;
use crate::params::decode_parameters;
use crate::reported;
use crate::respond::{output_response, result_formats, send_response};
use crate::sqlstate::{engine_error, server_error};
use crate::transaction::{Savepoints, check_not_failed, check_statement};
use crate::types::{pg_type, row_fields};

/// The query handlers of one connection. Created per connection, so the session it
/// holds is that client's alone; the lock is only ever taken by one message at a time.
pub(crate) struct ConnectionHandler {
    session: Arc<Mutex<Session>>,
    /// Whether the session was told who logged in (at its first statement).
    logged_in: AtomicBool,
    /// The names of the statements the client prepared, for DISCARD ALL to drop.
    statement_names: std::sync::Mutex<BTreeSet<String>>,
    query_parser: Arc<EddyQueryParser>,
    copy_in: CopyInSlot,
    savepoints: Savepoints,
}

impl ConnectionHandler {
    pub(crate) fn new(session: Session) -> Self {
        let session = Arc::new(Mutex::new(session));
        let query_parser = Arc::new(EddyQueryParser {
            session: session.clone(),
        });
        Self {
            session,
            logged_in: AtomicBool::new(false),
            statement_names: std::sync::Mutex::new(BTreeSet::new()),
            query_parser,
            copy_in: CopyInSlot::default(),
            savepoints: Savepoints::default(),
        }
    }

    /// The session, told at its first statement who logged in (the principal the startup
    /// left in the connection's extensions) and the startup packet's `application_name`.
    async fn session<C: ClientInfo>(&self, client: &C) -> MutexGuard<'_, Session> {
        let mut session = self.session.lock().await;
        if !self.logged_in.swap(true, Ordering::AcqRel) {
            // Every startup path leaves a principal; a missing one is a user no privilege
            // names, never a trusted session.
            let principal = client.session_extensions().get::<Principal>().map_or_else(
                || Principal::User(String::new()),
                |principal| (*principal).clone(),
            );
            session.set_principal(principal);
            if let Some(application_name) = client.metadata().get(METADATA_APPLICATION_NAME) {
                session.set_startup_setting("application_name", application_name);
            }
        }
        session
    }

    /// DEALLOCATE of a statement the client has not prepared fails as Postgres' does, before
    /// it runs.
    fn check_deallocate(&self, statement: &Statement) -> PgWireResult<()> {
        let Statement::Deallocate(Some(name)) = statement else {
            return Ok(());
        };
        let prepared = self
            .statement_names
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(name);
        match prepared {
            true => Ok(()),
            false => Err(server_error(ServerError::NoSuchPreparedStatement {
                name: name.clone(),
            })),
        }
    }

    /// Drops the prepared statement `name`, or all of them.
    fn drop_prepared<C>(&self, client: &mut C, name: Option<&str>)
    where
        C: ClientPortalStore,
        C::PortalStore: PortalStore,
    {
        let mut names = self
            .statement_names
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let dropped = match name {
            Some(name) => names.take(name).into_iter().collect(),
            None => std::mem::take(&mut *names),
        };
        for name in dropped {
            client.portal_store().rm_statement(&name);
        }
    }

    /// What a statement that ran leaves to the connection: DISCARD ALL drops the prepared
    /// statements and portals, DEALLOCATE a prepared statement, and the reported settings it
    /// changed go to the client.
    async fn after_statement<C>(&self, client: &mut C, statement: &Statement) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match statement {
            Statement::Discard(DiscardTarget::All) => {
                self.drop_prepared(client, None);
                client.portal_store().clear_portals();
            }
            Statement::Deallocate(name) => self.drop_prepared(client, name.as_deref()),
            _ => {}
        }
        let changed = reported::changed_by(statement);
        if changed.is_empty() {
            return Ok(());
        }
        let statuses: Vec<ParameterStatus> = {
            let session = self.session.lock().await;
            changed
                .iter()
                .filter_map(|(setting, reported_name)| {
                    let value = session.setting(setting)?;
                    Some(ParameterStatus::new((*reported_name).to_owned(), value))
                })
                .collect()
        };
        for status in statuses {
            client
                .feed(PgWireBackendMessage::ParameterStatus(status))
                .await?;
        }
        Ok(())
    }

    /// Runs (or resumes) a portal and sends its result, up to `rows_max` rows.
    async fn run_portal<C>(
        &self,
        client: &mut C,
        portal: &Portal<PreparedStatement>,
        rows_max: Option<usize>,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = PreparedStatement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let portal_state = portal.state();
        let mut state = portal_state.lock().await;
        // A portal whose run fails or is cancelled stays finished, as in Postgres.
        let response = match std::mem::replace(&mut *state, PortalExecutionState::Finished) {
            PortalExecutionState::Initial => {
                ExtendedQueryHandler::do_query(self, client, portal, rows_max.unwrap_or(0)).await?
            }
            PortalExecutionState::Suspended(rows) => Response::Query(rows),
            PortalExecutionState::Finished => {
                let tag = CommandComplete::new("SELECT 0".to_owned());
                client
                    .feed(PgWireBackendMessage::CommandComplete(tag))
                    .await?;
                return Ok(());
            }
        };
        if let Some(rest) = send_response(client, response, false, rows_max).await? {
            *state = PortalExecutionState::Suspended(rest);
        }
        Ok(())
    }
}

#[async_trait]
impl SimpleQueryHandler for ConnectionHandler {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        let cancel = cancel_receiver(client).await;
        // On error, pgwire sends the ErrorResponse and ReadyForQuery (with the status
        // the statements before the failing one left).
        let statements = SimpleQueryHandler::do_query(self, client, &query.query);
        until_cancelled(statements, cancel).await?;
        if matches!(client.state(), PgWireConnectionState::CopyInProgress(_)) {
            // ReadyForQuery follows the COPY's CopyDone or CopyFail.
            return Ok(());
        }
        client.set_state(PgWireConnectionState::ReadyForQuery);
        let ready = ReadyForQuery::new(client.transaction_status());
        client
            .send(PgWireBackendMessage::ReadyForQuery(ready))
            .await?;
        Ok(())
    }

    /// Runs each statement of `query` in order and sends its messages; an error stops the
    /// rest of the string, as in Postgres. A COPY FROM STDIN must come last: its data follows
    /// the whole query message.
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statements = self
            .session
            .lock()
            .await
            .parse(query)
            .map_err(engine_error)?;
        if statements.is_empty() {
            send_response(client, Response::EmptyQuery, true, None).await?;
        }
        for (index, statement) in statements.iter().enumerate() {
            check_statement(client.transaction_status(), &statement.statement)
                .map_err(server_error)?;
            self.check_deallocate(&statement.statement)?;
            let output = self
                .session(client)
                .await
                .execute(statement)
                .await
                .map_err(engine_error)?;
            let response = output_response(
                client,
                output,
                &Format::UnifiedText,
                &self.copy_in,
                &self.savepoints,
            )
            .await?;
            if matches!(response, Response::CopyIn(_)) && index + 1 < statements.len() {
                self.copy_in.lock().await.take();
                return Err(server_error(ServerError::CopyInNotLast));
            }
            send_response(client, response, true, None).await?;
            self.after_statement(client, &statement.statement).await?;
        }
        Ok(Vec::new())
    }
}

#[async_trait]
impl ExtendedQueryHandler for ConnectionHandler {
    type Statement = PreparedStatement;
    type QueryParser = EddyQueryParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        self.query_parser.clone()
    }

    /// Prepares as pgwire does, keeping the statement's name for DISCARD ALL (pgwire's
    /// portal store cannot list them).
    async fn on_parse<C>(&self, client: &mut C, message: Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message
            .name
            .clone()
            .unwrap_or_else(|| DEFAULT_NAME.to_owned());
        match StoredStatement::parse(client, &message, self.query_parser.clone()).await? {
            Some(statement) => client.portal_store().put_statement(Arc::new(statement)),
            None => client.portal_store().put_empty_statement(&name),
        }
        self.statement_names
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name);
        client
            .send(PgWireBackendMessage::ParseComplete(ParseComplete::new()))
            .await?;
        Ok(())
    }

    /// Binds a portal as pgwire does, but queues BindComplete rather than flushing it on its
    /// own: it leaves with the Execute's reply at the next flush (Sync, Flush, or rows that
    /// keep the client waiting), as in Postgres. A lookup's reply is then one write, which
    /// wakes its client once.
    async fn on_bind<C>(&self, client: &mut C, message: Bind) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statement_name = message.statement_name.as_deref().unwrap_or(DEFAULT_NAME);
        match client.portal_store().get_statement(statement_name) {
            Some(Entry::Value(statement)) => {
                let portal = Portal::try_new(&message, statement)?;
                client.portal_store().put_portal(Arc::new(portal));
            }
            Some(Entry::Empty) if message.parameters.is_empty() => {
                let portal_name = message.portal_name.as_deref().unwrap_or(DEFAULT_NAME);
                client.portal_store().put_empty_portal(portal_name);
            }
            Some(Entry::Empty) => {
                return Err(server_error(ServerError::ParameterCount {
                    supplied: message.parameters.len(),
                    required: 0,
                }));
            }
            None => return Err(PgWireError::StatementNotFound(statement_name.to_owned())),
        }
        client
            .feed(PgWireBackendMessage::BindComplete(BindComplete::new()))
            .await?;
        Ok(())
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        let portal_name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal = match client.portal_store().get_portal(portal_name) {
            Some(Entry::Value(portal)) => portal,
            Some(Entry::Empty) => {
                client
                    .feed(PgWireBackendMessage::EmptyQueryResponse(
                        EmptyQueryResponse::new(),
                    ))
                    .await?;
                return Ok(());
            }
            None => return Err(PgWireError::PortalNotFound(portal_name.to_owned())),
        };
        let rows_max = usize::try_from(message.max_rows)
            .ok()
            .filter(|rows_max| *rows_max > 0);
        client.set_state(PgWireConnectionState::QueryInProgress);
        let cancel = cancel_receiver(client).await;
        until_cancelled(self.run_portal(client, &portal, rows_max), cancel).await?;
        if !matches!(client.state(), PgWireConnectionState::CopyInProgress(_)) {
            client.set_state(PgWireConnectionState::ReadyForQuery);
        }
        Ok(())
    }

    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let fields = match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => {
                let described = match client.portal_store().get_statement(name) {
                    Some(Entry::Value(statement)) => {
                        self.do_describe_statement(client, &statement).await?
                    }
                    Some(Entry::Empty) => DescribeStatementResponse::new(Vec::new(), Vec::new()),
                    None => return Err(PgWireError::StatementNotFound(name.to_owned())),
                };
                let parameter_oids = described.parameters.iter().map(Type::oid).collect();
                client
                    .feed(PgWireBackendMessage::ParameterDescription(
                        ParameterDescription::new(parameter_oids),
                    ))
                    .await?;
                described.fields
            }
            TARGET_TYPE_BYTE_PORTAL => match client.portal_store().get_portal(name) {
                Some(Entry::Value(portal)) => {
                    self.do_describe_portal(client, &portal).await?.fields
                }
                Some(Entry::Empty) => Vec::new(),
                None => return Err(PgWireError::PortalNotFound(name.to_owned())),
            },
            other => return Err(PgWireError::InvalidTargetType(other)),
        };
        let message = if fields.is_empty() {
            PgWireBackendMessage::NoData(NoData::new())
        } else {
            PgWireBackendMessage::RowDescription(RowDescription::new(
                fields.iter().map(Into::into).collect(),
            ))
        };
        client.feed(message).await?;
        Ok(())
    }

    /// Parameter types (the client's where it named them, else the planned ones) and
    /// result columns in text format (formats are only known once bound).
    async fn do_describe_statement<C>(
        &self,
        _client: &mut C,
        statement: &StoredStatement<Self::Statement>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let prepared = &statement.statement;
        let parameters = prepared
            .parameter_types()
            .iter()
            .enumerate()
            .map(|(index, planned)| {
                statement
                    .parameter_types
                    .get(index)
                    .cloned()
                    .flatten()
                    .filter(|declared| *declared != Type::UNKNOWN)
                    .unwrap_or_else(|| pg_type(planned))
            })
            .collect();
        let fields = self.query_parser.get_result_schema(prepared, None)?;
        Ok(DescribeStatementResponse::new(parameters, fields))
    }

    /// Result columns in the formats the Bind asked for.
    async fn do_describe_portal<C>(
        &self,
        _client: &mut C,
        portal: &Portal<Self::Statement>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let fields = self.query_parser.get_result_schema(
            &portal.statement.statement,
            Some(&portal.result_column_format),
        )?;
        Ok(DescribePortalResponse::new(fields))
    }

    /// Executes a bound portal: decodes its parameters to the planned types and runs the
    /// prepared statement. Rows come back as a lazy stream for `on_execute` to send.
    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let stored = &portal.statement;
        let prepared = &stored.statement;
        if let Some(parsed) = prepared.statement() {
            check_statement(client.transaction_status(), &parsed.statement)
                .map_err(server_error)?;
            self.check_deallocate(&parsed.statement)?;
        }
        let parameters = decode_parameters(
            &portal.parameters,
            &portal.parameter_format,
            &stored.parameter_types,
            prepared.parameter_types(),
        )
        .map_err(server_error)?;
        let output = self
            .session(client)
            .await
            .execute_prepared(prepared, parameters)
            .await
            .map_err(engine_error)?;
        let response = output_response(
            client,
            output,
            &portal.result_column_format,
            &self.copy_in,
            &self.savepoints,
        )
        .await?;
        if let Some(parsed) = prepared.statement() {
            self.after_statement(client, &parsed.statement).await?;
        }
        Ok(response)
    }
}

#[async_trait]
impl CopyHandler for ConnectionHandler {
    async fn on_copy_data<C>(&self, _client: &mut C, copy_data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        copy_in::write_data(&self.copy_in, &copy_data.data).await
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let tag = copy_in::finish(&self.copy_in).await?;
        client
            .feed(PgWireBackendMessage::CommandComplete(tag.into()))
            .await?;
        Ok(())
    }

    async fn on_copy_fail<C>(&self, _client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        copy_in::fail(&self.copy_in, fail.message).await
    }
}

/// Parse messages: prepares the statement in the connection's session, once.
pub(crate) struct EddyQueryParser {
    session: Arc<Mutex<Session>>,
}

#[async_trait]
impl QueryParser for EddyQueryParser {
    type Statement = PreparedStatement;

    async fn parse_sql<C>(
        &self,
        client: &C,
        sql: &str,
        _types: &[Option<Type>],
    ) -> PgWireResult<Option<Self::Statement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        let mut session = self.session.lock().await;
        let statements = session.parse(sql).map_err(engine_error)?;
        // A query of only comments is an empty statement, answered EmptyQueryResponse.
        if statements.is_empty() {
            return Ok(None);
        }
        // Postgres refuses a failed block's statements at Parse already.
        for parsed in &statements {
            check_not_failed(client.transaction_status(), &parsed.statement)
                .map_err(server_error)?;
        }
        session.prepare(sql).await.map(Some).map_err(engine_error)
    }

    fn get_parameter_types(&self, statement: &Self::Statement) -> PgWireResult<Vec<Type>> {
        Ok(statement.parameter_types().iter().map(pg_type).collect())
    }

    fn get_result_schema(
        &self,
        statement: &Self::Statement,
        column_format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        let Some(schema) = statement.result_schema() else {
            return Ok(Vec::new());
        };
        let format = column_format.unwrap_or(&Format::UnifiedText);
        let formats = result_formats(format, schema.fields().len()).map_err(server_error)?;
        Ok(row_fields(&schema, &formats))
    }
}
