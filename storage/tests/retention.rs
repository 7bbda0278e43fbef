//! Retention through the public API: whole sealed segments older than a cutoff are deleted
//! from the start of a partition, reads from below the first kept row start at it, offsets
//! are never reused (also across reopen, and after a crash midway), and producers' epochs in
//! deleted segments still make a repeated tagged append a no-op.
//!
//! Never: wait on a timer.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{AsArray, Int64Array};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use eddy_storage::{DeletedSegments, Offset, Store, StoreConfig, Topic};

const TIME: &str = "rowtime";

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new(TIME, DataType::Int64, false),
    ]))
}

/// Rows with ids `first..first + rows`, each row's time being its id times 10.
fn rows(first: i64, rows: i64) -> RecordBatch {
    let ids = Int64Array::from_iter_values(first..first + rows);
    let times = Int64Array::from_iter_values((first..first + rows).map(|id| id * 10));
    RecordBatch::try_new(schema(), vec![Arc::new(ids), Arc::new(times)])
        .expect("columns match the schema")
}

/// Segments of about 1 KiB: a few batches of 20 rows each.
fn small_segments() -> StoreConfig {
    StoreConfig {
        segment_bytes_max: 1024,
        state_cache_bytes: 8 << 20,
        ..StoreConfig::default()
    }
}

fn partition_directory(data_dir: &Path, topic: &str) -> PathBuf {
    data_dir.join("logs").join(topic).join("partition-00000")
}

/// The base offsets of the partition's segment files, in order.
fn segment_base_offsets(data_dir: &Path, topic: &str) -> Vec<u64> {
    let mut offsets: Vec<u64> = std::fs::read_dir(partition_directory(data_dir, topic))
        .expect("partition directory")
        .filter_map(|entry| {
            let name = entry.expect("entry").file_name();
            name.to_str()?.strip_suffix(".log")?.parse().ok()
        })
        .collect();
    offsets.sort_unstable();
    offsets
}

/// Appends ids `0..batches * 20` in batches of 20 rows.
async fn append_batches(topic: &Topic, batches: i64) {
    for batch in 0..batches {
        topic
            .append(0, vec![rows(batch * 20, 20)])
            .await
            .expect("appends");
    }
}

/// Every id readable from `from`, with the offset the first read started at.
fn read_ids(topic: &Topic, from: u64) -> (Option<Offset>, Vec<i64>) {
    let mut next = Offset(from);
    let mut started = None;
    let mut ids = Vec::new();
    loop {
        let read = topic.read(0, next, 64).expect("reads");
        let Some((first, _)) = read.first() else {
            return (started, ids);
        };
        started.get_or_insert(*first);
        for (offset, batch) in read {
            ids.extend(batch.column(0).as_primitive::<Int64Type>().values());
            next = Offset(offset.0 + batch.num_rows() as u64);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_segments_go_whole_and_reads_start_at_the_first_kept_row() {
    let data = tempfile::tempdir().expect("temp dir");
    let store = Store::open(data.path(), small_segments()).expect("opens");
    let topic = store.create_topic("s", schema(), 1).expect("creates");
    append_batches(&topic, 12).await;
    let segments = segment_base_offsets(data.path(), "s");
    assert!(segments.len() >= 4, "the log rolled: {segments:?}");

    // Rows up to id 99 are older than the cutoff (times 0..990); the segment holding id 100
    // and the ones after it stay, however old some of their rows are.
    let deleted = topic.delete_segments_before(TIME, 1000).expect("deletes");
    let first_kept = segments
        .iter()
        .copied()
        .rfind(|&base_offset| base_offset <= 100)
        .expect("a segment holds id 100");
    assert!(
        first_kept > 0,
        "whole segments fit before id 100: {segments:?}"
    );
    assert_eq!(
        deleted,
        [DeletedSegments {
            partition: 0,
            segments: segments.iter().filter(|&&base| base < first_kept).count(),
            rows: first_kept,
            first_offset: Offset(first_kept),
        }]
    );
    assert_eq!(
        segment_base_offsets(data.path(), "s"),
        segments
            .iter()
            .copied()
            .filter(|&base| base >= first_kept)
            .collect::<Vec<_>>()
    );
    assert_eq!(topic.first_offset(0), Offset(first_kept));
    assert_eq!(topic.end_offset(0), Offset(240), "the end does not move");
    let (started, ids) = read_ids(&topic, 0);
    assert_eq!(started, Some(Offset(first_kept)));
    assert_eq!(ids, (first_kept as i64..240).collect::<Vec<_>>());
    assert!(
        topic
            .delete_segments_before(TIME, 1000)
            .expect("deletes")
            .is_empty(),
        "a second pass finds nothing more"
    );

    // However late the cutoff, the active segment stays and appends go on after it.
    let active = *segments.last().expect("segments");
    let deleted = topic
        .delete_segments_before(TIME, i64::MAX)
        .expect("deletes");
    assert_eq!(deleted[0].first_offset, Offset(active));
    assert_eq!(segment_base_offsets(data.path(), "s"), [active]);
    let appended = topic.append(0, vec![rows(240, 1)]).await.expect("appends");
    assert_eq!(appended, Offset(240));
    assert_eq!(
        read_ids(&topic, 0).1,
        (active as i64..241).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_row_keeps_its_segment_and_every_one_after_it() {
    let data = tempfile::tempdir().expect("temp dir");
    let store = Store::open(data.path(), small_segments()).expect("opens");
    let topic = store.create_topic("s", schema(), 1).expect("creates");
    let mut late = rows(0, 20);
    let times = Int64Array::from_iter_values((0..20).map(|id| if id == 5 { 1 << 40 } else { id }));
    late = RecordBatch::try_new(schema(), vec![late.column(0).clone(), Arc::new(times)])
        .expect("columns match the schema");
    topic.append(0, vec![late]).await.expect("appends");
    for batch in 1..12 {
        topic
            .append(0, vec![rows(batch * 20, 20)])
            .await
            .expect("appends");
    }
    let deleted = topic
        .delete_segments_before(TIME, 1 << 30)
        .expect("deletes");
    assert!(deleted.is_empty(), "only a prefix of the log is deleted");
    assert_eq!(topic.first_offset(0), Offset(0));
    let wrong_column = topic.delete_segments_before("id_typo", 0);
    assert!(wrong_column.is_err(), "the time column must exist");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_reopen_the_log_starts_where_retention_left_it() {
    let data = tempfile::tempdir().expect("temp dir");
    let (first_kept, active) = {
        let store = Store::open(data.path(), small_segments()).expect("opens");
        let topic = store.create_topic("s", schema(), 1).expect("creates");
        append_batches(&topic, 12).await;
        let deleted = topic.delete_segments_before(TIME, 1000).expect("deletes");
        let segments = segment_base_offsets(data.path(), "s");
        (deleted[0].first_offset, *segments.last().expect("segments"))
    };
    let store = Store::open(data.path(), small_segments()).expect("reopens");
    let topic = store.topic("s").expect("the topic survives");
    assert_eq!(topic.first_offset(0), first_kept);
    assert_eq!(topic.end_offset(0), Offset(240));
    let (started, ids) = read_ids(&topic, 0);
    assert_eq!(started, Some(first_kept));
    assert_eq!(ids, (first_kept.0 as i64..240).collect::<Vec<_>>());

    // Everything but the active segment goes; then a crash tears the active segment's only
    // frame off, leaving it empty: the numbering still goes on from its base offset.
    topic
        .delete_segments_before(TIME, i64::MAX)
        .expect("deletes");
    drop(topic);
    drop(store);
    let active_path = partition_directory(data.path(), "s").join(format!("{active:020}.log"));
    let torn = std::fs::OpenOptions::new()
        .write(true)
        .open(&active_path)
        .expect("opens the active segment");
    torn.set_len(10).expect("tears the tail");
    drop(torn);
    let store = Store::open(data.path(), small_segments()).expect("reopens");
    let topic = store.topic("s").expect("the topic survives");
    assert_eq!(topic.first_offset(0), Offset(active));
    assert_eq!(topic.end_offset(0), Offset(active));
    assert_eq!(read_ids(&topic, 0), (None, Vec::new()));
    let appended = topic.append(0, vec![rows(1000, 3)]).await.expect("appends");
    assert_eq!(appended, Offset(active), "no offset below it is used again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_a_crash_left_after_their_deletion_was_recorded_are_removed_at_open() {
    let data = tempfile::tempdir().expect("temp dir");
    let directory = partition_directory(data.path(), "s");
    let saved = tempfile::tempdir().expect("temp dir");
    let first_kept = {
        let store = Store::open(data.path(), small_segments()).expect("opens");
        let topic = store.create_topic("s", schema(), 1).expect("creates");
        append_batches(&topic, 12).await;
        for base_offset in segment_base_offsets(data.path(), "s") {
            let name = format!("{base_offset:020}.log");
            std::fs::copy(directory.join(&name), saved.path().join(&name)).expect("copies");
        }
        topic.delete_segments_before(TIME, 1000).expect("deletes")[0].first_offset
    };
    // As if the files had not been removed yet when the process died.
    for entry in std::fs::read_dir(saved.path()).expect("saved segments") {
        let entry = entry.expect("entry");
        let base_offset: u64 = entry
            .file_name()
            .to_str()
            .and_then(|name| name.strip_suffix(".log")?.parse().ok())
            .expect("a segment name");
        if base_offset < first_kept.0 {
            std::fs::copy(entry.path(), directory.join(entry.file_name())).expect("copies");
        }
    }
    let store = Store::open(data.path(), small_segments()).expect("reopens");
    let topic = store.topic("s").expect("the topic survives");
    assert_eq!(topic.first_offset(0), first_kept);
    assert_eq!(segment_base_offsets(data.path(), "s")[0], first_kept.0);
    assert_eq!(read_ids(&topic, 0).0, Some(first_kept));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn epochs_of_producers_in_deleted_segments_are_remembered_across_reopen() {
    let data = tempfile::tempdir().expect("temp dir");
    let producer = 7;
    {
        let store = Store::open(data.path(), small_segments()).expect("opens");
        let topic = store.create_topic("s", schema(), 1).expect("creates");
        for epoch in 1..=3 {
            let first = (epoch as i64 - 1) * 20;
            topic
                .append_idempotent(vec![(0, rows(first, 20))], producer, epoch)
                .await
                .expect("appends");
        }
        for batch in 3..12 {
            topic
                .append(0, vec![rows(batch * 20, 20)])
                .await
                .expect("appends");
        }
        let deleted = topic
            .delete_segments_before(TIME, i64::MAX)
            .expect("deletes");
        assert!(
            deleted[0].first_offset > Offset(60),
            "the tagged frames are gone"
        );
        assert_eq!(
            topic.producer_epoch(0, producer).expect("partition"),
            Some(3)
        );
    }
    let store = Store::open(data.path(), small_segments()).expect("reopens");
    let topic = store.topic("s").expect("the topic survives");
    assert_eq!(
        topic.producer_epoch(0, producer).expect("partition"),
        Some(3)
    );
    let end = topic.end_offset(0);
    topic
        .append_idempotent(vec![(0, rows(40, 20))], producer, 3)
        .await
        .expect("a repeat is accepted");
    assert_eq!(topic.end_offset(0), end, "epoch 3 was already appended");
    topic
        .append_idempotent(vec![(0, rows(1000, 1))], producer, 4)
        .await
        .expect("appends");
    assert_eq!(topic.end_offset(0), Offset(end.0 + 1));
}
