//! Group commit for partition logs. An fsync costs milliseconds here, so appends that arrive
//! while one runs share the next one, and latency stays flat as writers are added. One std
//! thread per store (fsync blocks), fed by a bounded channel: each round takes every pending
//! append, writes each frame to its partition, syncs each touched file once, publishes the new
//! end offsets (a topic's all at once, see `Partition::publish_together`), then acknowledges.
//!
//! Never: acknowledge an append, or show its rows to a reader, before its bytes are durable.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error};

use crate::error::StorageError;
use crate::limits::{APPEND_QUEUE_REQUESTS_MAX, COMMIT_ROUND_REQUESTS_MAX};
use crate::log::Offset;
use crate::log::frame::EncodedFrame;
use crate::log::partition::Partition;

type AppendReply = oneshot::Sender<Result<Vec<Offset>, StorageError>>;

/// Frames to append (in order) and where to send their base offsets.
struct AppendRequest {
    frames: Vec<(Arc<Partition>, EncodedFrame)>,
    reply: AppendReply,
}

/// The way to the committer thread; the thread ends when the last handle is dropped.
#[derive(Clone, Debug)]
pub(crate) struct CommitterHandle {
    sender: mpsc::Sender<AppendRequest>,
}

impl CommitterHandle {
    pub(crate) fn spawn() -> Result<Self, StorageError> {
        let (sender, receiver) = mpsc::channel(APPEND_QUEUE_REQUESTS_MAX);
        std::thread::Builder::new()
            .name("eddy-log-committer".to_string())
            .spawn(move || run(receiver))
            .map_err(StorageError::io("spawn thread", "eddy-log-committer"))?;
        Ok(CommitterHandle { sender })
    }

    /// Appends the frames and returns each one's base offset once all are durable and visible.
    pub(crate) async fn append(
        &self,
        frames: Vec<(Arc<Partition>, EncodedFrame)>,
    ) -> Result<Vec<Offset>, StorageError> {
        self.queue(frames).await?.durable().await
    }

    /// Queues the frames for a commit round, waiting only while the queue is full. Requests
    /// queued one after another are committed in that order.
    pub(crate) async fn queue(
        &self,
        frames: Vec<(Arc<Partition>, EncodedFrame)>,
    ) -> Result<QueuedAppend, StorageError> {
        let (reply, reply_receiver) = oneshot::channel();
        self.sender
            .send(AppendRequest { frames, reply })
            .await
            .map_err(|_| StorageError::CommitterStopped)?;
        Ok(QueuedAppend { reply_receiver })
    }
}

/// An append waiting in (or past) the committer's queue. Dropping it does not cancel the
/// append, only the wait for it.
#[derive(Debug)]
pub(crate) struct QueuedAppend {
    reply_receiver: oneshot::Receiver<Result<Vec<Offset>, StorageError>>,
}

impl QueuedAppend {
    /// Resolves once the append is durable and visible, with each frame's base offset.
    pub(crate) async fn durable(self) -> Result<Vec<Offset>, StorageError> {
        self.reply_receiver
            .await
            .map_err(|_| StorageError::CommitterStopped)?
    }
}

fn run(mut receiver: mpsc::Receiver<AppendRequest>) {
    while let Some(first) = receiver.blocking_recv() {
        let mut round = vec![first];
        while round.len() < COMMIT_ROUND_REQUESTS_MAX {
            match receiver.try_recv() {
                Ok(request) => round.push(request),
                Err(_) => break,
            }
        }
        commit_round(round);
    }
    debug!("log committer stopped: no store or topic can append any more");
}

/// One group commit: all of the round's appends become durable and visible together, or none
/// of them does (a failed round is rolled back and every append in it gets an error).
fn commit_round(round: Vec<AppendRequest>) {
    let mut touched: Vec<Arc<Partition>> = Vec::new();
    let mut written: Vec<(AppendReply, Vec<Offset>)> = Vec::with_capacity(round.len());
    let mut requests = round.into_iter();
    let mut failure = None;
    for mut request in requests.by_ref() {
        if let Some(dropped) = request
            .frames
            .iter()
            .find_map(|(partition, _)| partition.dropped_error())
        {
            send_reply(request.reply, Err(dropped));
            continue;
        }
        match write_frames(&mut request.frames, &mut touched) {
            Ok(offsets) => written.push((request.reply, offsets)),
            Err(error) => {
                failure = Some((error, request.reply));
                break;
            }
        }
    }
    let outcome = match failure {
        Some((error, reply)) => Err((error, Some(reply))),
        None => touched
            .iter()
            .try_for_each(|partition| partition.sync())
            .map_err(|error| (error, None)),
    };
    match outcome {
        Ok(()) => {
            Partition::publish_together(&touched);
            for (reply, offsets) in written {
                send_reply(reply, Ok(offsets));
            }
        }
        Err((error, failed_reply)) => {
            error!(%error, appends = written.len(), "log append failed; rolling back its commit round");
            for partition in &touched {
                partition.discard();
            }
            let reason = error.to_string();
            let others = written
                .into_iter()
                .map(|(reply, _)| reply)
                .chain(requests.map(|request| request.reply));
            for reply in others {
                let reason = reason.clone();
                send_reply(reply, Err(StorageError::CommitFailed { reason }));
            }
            if let Some(reply) = failed_reply {
                send_reply(reply, Err(error));
            }
        }
    }
}

fn write_frames(
    frames: &mut [(Arc<Partition>, EncodedFrame)],
    touched: &mut Vec<Arc<Partition>>,
) -> Result<Vec<Offset>, StorageError> {
    let mut offsets = Vec::with_capacity(frames.len());
    for (partition, frame) in frames.iter_mut() {
        if !touched.iter().any(|seen| Arc::ptr_eq(seen, partition)) {
            touched.push(partition.clone());
        }
        offsets.push(partition.write_frame(frame)?);
    }
    Ok(offsets)
}

fn send_reply(reply: AppendReply, result: Result<Vec<Offset>, StorageError>) {
    // The appender may have stopped waiting (its future was dropped); the append stands anyway.
    let _ = reply.send(result);
}

#[cfg(test)]
mod tests {
    use arrow::record_batch::RecordBatch;

    use super::*;
    use crate::log::partition::tests::{ids, open_partition};

    fn request(
        frames: Vec<(&Arc<Partition>, RecordBatch)>,
    ) -> (
        AppendRequest,
        oneshot::Receiver<Result<Vec<Offset>, StorageError>>,
    ) {
        let frames = frames
            .into_iter()
            .map(|(partition, batch)| {
                let frame = EncodedFrame::encode(batch).expect("encodes");
                (partition.clone(), frame)
            })
            .collect();
        let (reply, receiver) = oneshot::channel();
        (AppendRequest { frames, reply }, receiver)
    }

    #[test]
    fn one_round_places_every_request_in_order() {
        let directory = tempfile::tempdir().expect("temp dir");
        let log = open_partition(directory.path(), 1 << 20);
        let (first, mut first_reply) = request(vec![(&log, ids(0, 3)), (&log, ids(3, 1))]);
        let (second, mut second_reply) = request(vec![(&log, ids(4, 2))]);
        commit_round(vec![first, second]);
        let first_offsets = first_reply
            .try_recv()
            .expect("answered")
            .expect("committed");
        let second_offsets = second_reply
            .try_recv()
            .expect("answered")
            .expect("committed");
        assert_eq!(first_offsets, vec![Offset(0), Offset(3)]);
        assert_eq!(second_offsets, vec![Offset(4)]);
        assert_eq!(log.end_offset(), Offset(6));
    }

    #[test]
    fn a_failed_write_rolls_back_the_whole_round() {
        let healthy_directory = tempfile::tempdir().expect("temp dir");
        let broken_directory = tempfile::tempdir().expect("temp dir");
        let healthy = open_partition(healthy_directory.path(), 1 << 20);
        let broken = open_partition(broken_directory.path(), 1);
        // The second frame must roll to a new segment file, in a directory that is gone.
        std::fs::remove_dir_all(broken_directory.path()).expect("remove");
        let (first, mut first_reply) = request(vec![(&healthy, ids(0, 3))]);
        let (second, mut second_reply) = request(vec![(&broken, ids(0, 1)), (&broken, ids(1, 1))]);
        let (third, mut third_reply) = request(vec![(&healthy, ids(3, 1))]);
        commit_round(vec![first, second, third]);
        let first_result = first_reply.try_recv().expect("answered");
        assert!(matches!(
            first_result,
            Err(StorageError::CommitFailed { .. })
        ));
        let second_result = second_reply.try_recv().expect("answered");
        assert!(matches!(second_result, Err(StorageError::Io { .. })));
        let third_result = third_reply.try_recv().expect("answered");
        assert!(matches!(
            third_result,
            Err(StorageError::CommitFailed { .. })
        ));
        assert_eq!(
            healthy.end_offset(),
            Offset(0),
            "nothing of the round is visible"
        );
        assert!(healthy.read(Offset(0), 10).expect("reads").is_empty());
        let (retry, mut retry_reply) = request(vec![(&healthy, ids(0, 2))]);
        commit_round(vec![retry]);
        let retried = retry_reply
            .try_recv()
            .expect("answered")
            .expect("committed");
        assert_eq!(
            retried,
            vec![Offset(0)],
            "the rolled-back offsets are reused"
        );
    }
}
