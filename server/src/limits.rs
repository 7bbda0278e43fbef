//! The server's fixed limits and intervals, each with the reason for its value.
//!
//! They bound how long a departed client can hold a push query and how hard a failing
//! listener is retried; none of them is ever used to assert on time.
//!
//! Never: make a limit depend on a client's input.

use std::time::Duration;

/// An idle result stream (a push query waiting for rows) sends a `ParameterStatus`
/// heartbeat this often. A departed client is noticed only when a write fails, on the
/// second write after it left, so it is noticed within about two intervals.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);

/// Name of the heartbeat parameter; clients (libpq, tokio-postgres) absorb it silently.
pub const HEARTBEAT_PARAMETER: &str = "eddy_heartbeat";

/// A connection that has been silent this long gets TCP keepalive probes, so a peer that
/// vanished without a FIN or RST (a dead machine, a cut cable) is found by the kernel.
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);

/// Time between keepalive probes once probing has started.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// Unanswered probes after which the kernel closes the connection: with the values
/// above, a dead peer is dropped after about a minute.
pub const KEEPALIVE_RETRIES: u32 = 3;

/// Pause after a failed `accept` (for example `EMFILE`, out of file descriptors), so the
/// accept loop does not spin while the condition lasts.
pub const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);
