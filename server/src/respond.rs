//! Turning a statement's `QueryOutput` into wire messages, for both protocols.
//!
//! pgwire's stock paths collect or buffer a whole result and cannot be cancelled, so rows
//! and COPY lines are written here through the connection's sink: fed while the source has
//! a batch ready, flushed as soon as it has none, with a `ParameterStatus` heartbeat while
//! it stays idle (a departed client is noticed only when a write fails). Rows stay a lazy
//! stream until they are sent; a portal with a row limit keeps the rest for its next
//! Execute.
//!
//! Never: collect an unbounded result in memory, or wait on a source without flushing
//! what was fed before.

use std::fmt::Debug;
use std::sync::Arc;

use futures::stream::BoxStream;
use futures::{FutureExt, Sink, SinkExt, Stream, StreamExt, stream};
use pgwire::api::portal::Format;
use pgwire::api::results::{CopyResponse, FieldFormat, QueryResponse, Response, Tag};
use pgwire::api::{ClientInfo, PgWireConnectionState};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::{CopyData, CopyDone, CopyInResponse, CopyOutResponse};
use pgwire::messages::data::{DataRow, RowDescription};
use pgwire::messages::extendedquery::PortalSuspended;
use pgwire::messages::response::{EmptyQueryResponse, TransactionStatus};
use pgwire::messages::startup::ParameterStatus;
use tracing::trace;

use eddy_executor::{CommandComplete, QueryOutput, RowStream, TransactionStatement};

use crate::cancel::cancel_receiver;
use crate::copy_in::{CopyIn, CopyInSlot};
use crate::encode::{encode_copy_rows, encode_data_rows};
use crate::error::{ServerError, ServerResult};
use crate::limits::{HEARTBEAT_INTERVAL, HEARTBEAT_PARAMETER};
use crate::sqlstate::{engine_error, notice, server_error};
use crate::transaction::Savepoints;
use crate::types::row_fields;

/// The format of each result column, from a Bind's result format codes: none (all
/// text), one for all columns, or one per column.
pub(crate) fn result_formats(format: &Format, columns: usize) -> ServerResult<Vec<FieldFormat>> {
    match format {
        Format::UnifiedText => Ok(vec![FieldFormat::Text; columns]),
        Format::UnifiedBinary => Ok(vec![FieldFormat::Binary; columns]),
        Format::Individual(codes) if codes.len() == columns => {
            Ok(codes.iter().map(|code| FieldFormat::from(*code)).collect())
        }
        Format::Individual(codes) => Err(ServerError::ResultFormatCount {
            formats: codes.len(),
            columns,
        }),
    }
}

/// What to send for one statement's output. Notices and transaction status changes
/// happen here; rows stay a lazy stream of encoded messages.
pub(crate) async fn output_response<C>(
    client: &mut C,
    output: QueryOutput,
    format: &Format,
    copy_in: &CopyInSlot,
    savepoints: &Savepoints,
) -> PgWireResult<Response>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    match output {
        QueryOutput::Command(command) => command_response(client, command).await,
        QueryOutput::Transaction(statement) => {
            transaction_response(client, statement, savepoints).await
        }
        QueryOutput::Rows(rows) => {
            let formats =
                result_formats(format, rows.schema().fields().len()).map_err(server_error)?;
            let fields = Arc::new(row_fields(rows.schema(), &formats));
            Ok(Response::Query(QueryResponse::new(
                fields,
                data_row_stream(rows, formats),
            )))
        }
        QueryOutput::CopyOut(rows) => {
            let columns = rows.schema().fields().len();
            Ok(Response::CopyOut(CopyResponse::new(
                0,
                columns,
                copy_data_stream(rows),
            )))
        }
        QueryOutput::CopyIn(sink) => {
            let columns = sink.column_count();
            let cancel = cancel_receiver(client).await;
            *copy_in.lock().await = Some(CopyIn::new(*sink, cancel));
            Ok(Response::CopyIn(CopyResponse::new(
                0,
                columns,
                stream::empty(),
            )))
        }
    }
}

async fn command_response<C>(client: &mut C, command: CommandComplete) -> PgWireResult<Response>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    if let Some(message) = command.notice {
        client
            .feed(PgWireBackendMessage::NoticeResponse(notice(message)))
            .await?;
    }
    let tag = match command.rows {
        // Postgres' INSERT tag carries an OID (always 0 now) before the row count.
        Some(rows) if command.tag == "INSERT" => Tag::new("INSERT").with_oid(0).with_rows(rows),
        Some(rows) => Tag::new(&command.tag).with_rows(rows),
        None => Tag::new(&command.tag),
    };
    Ok(Response::Execution(tag))
}

/// A transaction statement: the status it leaves, with Postgres' warnings and tags
/// (`transaction.rs` decides them).
async fn transaction_response<C>(
    client: &mut C,
    statement: TransactionStatement,
    savepoints: &Savepoints,
) -> PgWireResult<Response>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let answer = savepoints
        .answer(client.transaction_status(), &statement)
        .map_err(server_error)?;
    if let Some(notice) = answer.notice {
        client
            .feed(PgWireBackendMessage::NoticeResponse(notice))
            .await?;
    }
    client.set_transaction_status(answer.status);
    Ok(Response::Execution(Tag::new(answer.tag)))
}

/// Encodes each batch into DataRows when the sender pulls it.
fn data_row_stream(
    rows: RowStream,
    formats: Vec<FieldFormat>,
) -> BoxStream<'static, PgWireResult<DataRow>> {
    let messages = rows.flat_map(move |batch| {
        let encoded = batch
            .map_err(engine_error)
            .and_then(|batch| encode_data_rows(&batch, &formats).map_err(server_error));
        match encoded {
            Ok(rows) => stream::iter(rows.into_iter().map(Ok)).left_stream(),
            Err(error) => stream::iter([Err(error)]).right_stream(),
        }
    });
    Box::pin(messages)
}

/// Encodes each batch into COPY text lines when the sender pulls it.
fn copy_data_stream(rows: RowStream) -> BoxStream<'static, PgWireResult<CopyData>> {
    let messages = rows.flat_map(|batch| {
        let encoded = batch
            .map_err(engine_error)
            .and_then(|batch| encode_copy_rows(&batch).map_err(server_error));
        match encoded {
            Ok(lines) => stream::iter(lines.into_iter().map(Ok)).left_stream(),
            Err(error) => stream::iter([Err(error)]).right_stream(),
        }
    });
    Box::pin(messages)
}

/// Sends one response. The simple protocol (`simple_protocol`) sends a RowDescription
/// before rows (the extended one describes in Describe). With `rows_max`, a result with more
/// rows is suspended: PortalSuspended is sent and the rest is returned for the next
/// Execute. A COPY FROM sends CopyInResponse and leaves the connection in CopyInProgress.
pub(crate) async fn send_response<C>(
    client: &mut C,
    response: Response,
    simple_protocol: bool,
    rows_max: Option<usize>,
) -> PgWireResult<Option<QueryResponse>>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    match response {
        Response::EmptyQuery => {
            client
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await?;
        }
        Response::Execution(tag) => send_tag(client, tag).await?,
        Response::TransactionStart(tag) => {
            let status = client.transaction_status().to_in_transaction_state();
            client.set_transaction_status(status);
            send_tag(client, tag).await?;
        }
        Response::TransactionEnd(tag) => {
            client.set_transaction_status(TransactionStatus::Idle);
            send_tag(client, tag).await?;
        }
        Response::Query(mut rows) => {
            if simple_protocol {
                let description =
                    RowDescription::new(rows.row_schema().iter().map(Into::into).collect());
                client
                    .feed(PgWireBackendMessage::RowDescription(description))
                    .await?;
            }
            let sent = send_items(
                client,
                rows.data_rows(),
                rows_max,
                PgWireBackendMessage::DataRow,
            )
            .await?;
            if sent.suspended {
                client
                    .send(PgWireBackendMessage::PortalSuspended(PortalSuspended::new()))
                    .await?;
                return Ok(Some(rows));
            }
            send_tag(client, Tag::new("SELECT").with_rows(sent.items)).await?;
        }
        Response::CopyOut(mut copy) => {
            let columns = copy_column_count(copy.columns)?;
            let header = CopyOutResponse::new(copy.format, columns, copy.column_formats());
            client
                .feed(PgWireBackendMessage::CopyOutResponse(header))
                .await?;
            let sent = send_items(
                client,
                &mut copy.data_stream,
                None,
                PgWireBackendMessage::CopyData,
            )
            .await?;
            client
                .feed(PgWireBackendMessage::CopyDone(CopyDone::new()))
                .await?;
            send_tag(client, Tag::new("COPY").with_rows(sent.items)).await?;
        }
        Response::CopyIn(copy) => {
            let columns = copy_column_count(copy.columns)?;
            let header = CopyInResponse::new(copy.format, columns, copy.column_formats());
            client.set_state(PgWireConnectionState::CopyInProgress(!simple_protocol));
            client
                .send(PgWireBackendMessage::CopyInResponse(header))
                .await?;
        }
        Response::Error(info) => return Err(PgWireError::UserError(info)),
        Response::CopyBoth(_) => {
            return Err(server_error(ServerError::CopyBothUnsupported));
        }
    }
    Ok(None)
}

/// A COPY response's column count, which the wire carries as an i16.
fn copy_column_count(columns: usize) -> PgWireResult<i16> {
    i16::try_from(columns).map_err(|_| {
        server_error(ServerError::TooManyColumns {
            columns,
            columns_max: i16::MAX as usize,
        })
    })
}

async fn send_tag<C>(client: &mut C, tag: Tag) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    client
        .feed(PgWireBackendMessage::CommandComplete(tag.into()))
        .await?;
    Ok(())
}

struct Sent {
    items: usize,
    /// `rows_max` was reached; the source may have more.
    suspended: bool,
}

/// Feeds items while the source has them ready; flushes, then waits (with heartbeats)
/// when it has none. A failed write ends the loop with its error, which drops the source.
async fn send_items<C, T, S>(
    client: &mut C,
    items: &mut S,
    items_max: Option<usize>,
    message: fn(T) -> PgWireBackendMessage,
) -> PgWireResult<Sent>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    S: Stream<Item = PgWireResult<T>> + Unpin + Send,
{
    let mut sent = 0;
    let mut heartbeats = 0u64;
    loop {
        if items_max.is_some_and(|items_max| sent >= items_max) {
            return Ok(Sent {
                items: sent,
                suspended: true,
            });
        }
        let next = match items.next().now_or_never() {
            Some(next) => next,
            None => {
                client.flush().await?;
                next_with_heartbeats(client, items, &mut heartbeats).await?
            }
        };
        match next {
            Some(item) => {
                client.feed(message(item?)).await?;
                sent += 1;
            }
            None => {
                return Ok(Sent {
                    items: sent,
                    suspended: false,
                });
            }
        }
    }
}

/// Waits for the next item, sending a heartbeat each `HEARTBEAT_INTERVAL` it is idle.
async fn next_with_heartbeats<C, S>(
    client: &mut C,
    items: &mut S,
    heartbeats: &mut u64,
) -> PgWireResult<Option<S::Item>>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    S: Stream + Unpin + Send,
{
    loop {
        match tokio::time::timeout(HEARTBEAT_INTERVAL, items.next()).await {
            Ok(next) => return Ok(next),
            Err(_idle) => {
                *heartbeats += 1;
                trace!(
                    heartbeats = *heartbeats,
                    "result source idle, sending heartbeat"
                );
                let heartbeat =
                    ParameterStatus::new(HEARTBEAT_PARAMETER.to_owned(), heartbeats.to_string());
                client
                    .send(PgWireBackendMessage::ParameterStatus(heartbeat))
                    .await?;
            }
        }
    }
}
