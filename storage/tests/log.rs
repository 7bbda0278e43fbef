//! Integration tests of the partition logs through the public API: round trips of many Arrow
//! types, segment rolls, reopen and crash recovery (torn tails), truncate, drop, concurrent
//! appends and end-offset notifications.
//!
//! Never: wait on a timer; every wait here is for an event (an append, a notification).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Decimal128Array, Float64Array, Int64Array, ListBuilder, StringArray, StringBuilder,
    StructArray, TimestampMillisecondArray,
};
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use eddy_storage::{Durability, Keyspace, Offset, StateBatch, StorageError, Store, StoreConfig};

fn rich_schema() -> SchemaRef {
    let point = Fields::from(vec![
        Field::new("x", DataType::Float64, false),
        Field::new("y", DataType::Float64, true),
    ]);
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("tags", DataType::new_list(DataType::Utf8, true), true),
        Field::new("point", DataType::Struct(point), true),
        Field::new("amount", DataType::Decimal128(10, 2), true),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
    ]))
}

/// `rows` rows with ids from `first_id`; every third value is null where the column allows.
fn rich_batch(first_id: i64, rows: usize) -> RecordBatch {
    let ids: Vec<i64> = (first_id..first_id + rows as i64).collect();
    let names: StringArray = ids
        .iter()
        .map(|id| (id % 3 != 0).then(|| format!("name-{id}")))
        .collect();
    let mut tags = ListBuilder::new(StringBuilder::new());
    for id in &ids {
        if id % 3 == 0 {
            tags.append_null();
        } else {
            for tag in 0..id % 4 {
                tags.values().append_value(format!("t{tag}"));
            }
            tags.append(true);
        }
    }
    let x: Float64Array = ids.iter().map(|id| *id as f64 / 2.0).collect();
    let y: Float64Array = ids
        .iter()
        .map(|id| (id % 3 != 1).then_some(*id as f64))
        .collect();
    let point = StructArray::new(
        Fields::from(vec![
            Field::new("x", DataType::Float64, false),
            Field::new("y", DataType::Float64, true),
        ]),
        vec![Arc::new(x) as ArrayRef, Arc::new(y)],
        None,
    );
    let amounts = Decimal128Array::from_iter(
        ids.iter()
            .map(|id| (id % 3 != 2).then_some(i128::from(*id) * 101)),
    )
    .with_precision_and_scale(10, 2)
    .expect("valid decimal type");
    let timestamps =
        TimestampMillisecondArray::from_iter_values(ids.iter().map(|id| 1_700_000_000_000 + id))
            .with_timezone("UTC");
    RecordBatch::try_new(
        rich_schema(),
        vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(names),
            Arc::new(tags.finish()),
            Arc::new(point),
            Arc::new(amounts),
            Arc::new(timestamps),
        ],
    )
    .expect("columns match the schema")
}

fn ids_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]))
}

fn ids_batch(ids: impl IntoIterator<Item = i64>) -> RecordBatch {
    let ids: Int64Array = ids.into_iter().collect();
    RecordBatch::try_new(ids_schema(), vec![Arc::new(ids)]).expect("column matches the schema")
}

fn ids_of(batches: &[(Offset, RecordBatch)]) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|(_, batch)| {
            let ids = batch
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .expect("id column is Int64");
            ids.values().to_vec()
        })
        .collect()
}

/// Reads the whole partition from `from`, in calls of `rows_max`, checking offsets line up.
fn read_all(
    topic: &eddy_storage::Topic,
    partition: u32,
    from: u64,
    rows_max: usize,
) -> Vec<(Offset, RecordBatch)> {
    let mut next = Offset(from);
    let mut all = Vec::new();
    loop {
        let batches = topic.read(partition, next, rows_max).expect("read");
        if batches.is_empty() {
            assert_eq!(next, topic.end_offset(partition));
            return all;
        }
        for (offset, batch) in batches {
            assert_eq!(offset, next, "batches are contiguous");
            next = Offset(offset.0 + batch.num_rows() as u64);
            all.push((offset, batch));
        }
    }
}

fn small_segments() -> StoreConfig {
    StoreConfig {
        segment_bytes_max: 4096,
        state_cache_bytes: 8 << 20,
        ..StoreConfig::default()
    }
}

fn segment_files(data_dir: &Path, topic: &str, partition: u32) -> Vec<PathBuf> {
    let directory = data_dir
        .join("logs")
        .join(topic)
        .join(format!("partition-{partition:05}"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .expect("partition directory")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "log"))
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn rich_types_round_trip_across_segment_rolls_and_reopen() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut expected = Vec::new();
    {
        let store = Store::open(data_dir.path(), small_segments()).expect("open");
        let topic = store
            .create_topic("rich", rich_schema(), 1)
            .expect("create");
        let mut next_id = 0;
        for rows in [1, 7, 30, 2, 64, 5, 100, 3] {
            let batch = rich_batch(next_id, rows);
            let offset = topic.append(0, vec![batch.clone()]).await.expect("append");
            assert_eq!(offset, Offset(next_id as u64));
            expected.push(batch);
            next_id += rows as i64;
        }
        assert_eq!(topic.end_offset(0), Offset(next_id as u64));
        assert!(
            segment_files(data_dir.path(), "rich", 0).len() > 2,
            "segments rolled"
        );
        let cached = read_all(&topic, 0, 0, 1000);
        let cached: Vec<RecordBatch> = cached.into_iter().map(|(_, batch)| batch).collect();
        assert_eq!(cached, expected, "the cache returns the appended batches");
    }
    let store = Store::open(data_dir.path(), small_segments()).expect("reopen");
    let topic = store.topic("rich").expect("topic recovered");
    assert_eq!(topic.schema(), rich_schema());
    let all_rows = concat_batches(&rich_schema(), &expected).expect("concat");
    for (from, rows_max) in [(0, 1), (0, 10_000), (3, 10), (40, 50), (211, 1)] {
        let read = read_all(&topic, 0, from, rows_max);
        let batches: Vec<RecordBatch> = read.into_iter().map(|(_, batch)| batch).collect();
        let read_rows = concat_batches(&rich_schema(), &batches).expect("concat");
        let expected_rows = all_rows.slice(from as usize, all_rows.num_rows() - from as usize);
        assert_eq!(read_rows, expected_rows, "from {from}, rows_max {rows_max}");
    }
}

#[tokio::test]
async fn reads_slice_the_first_batch_and_respect_rows_max() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(data_dir.path(), StoreConfig::default()).expect("open");
    let topic = store.create_topic("ids", ids_schema(), 1).expect("create");
    let batches = vec![ids_batch(0..10), ids_batch(10..15), ids_batch(15..30)];
    assert_eq!(topic.append(0, batches).await.expect("append"), Offset(0));
    let first = topic.read(0, Offset(7), 1).expect("read");
    assert_eq!(first.len(), 1, "at least one batch, even past rows_max");
    assert_eq!(first[0].0, Offset(7));
    assert_eq!(ids_of(&first), vec![7, 8, 9]);
    let bounded = topic.read(0, Offset(7), 8).expect("read");
    assert_eq!(
        ids_of(&bounded),
        (7..15).collect::<Vec<_>>(),
        "3 + 5 rows fit in 8"
    );
    let everything = topic.read(0, Offset(0), 1000).expect("read");
    assert_eq!(ids_of(&everything), (0..30).collect::<Vec<_>>());
    assert!(topic.read(0, Offset(30), 10).expect("read").is_empty());
    assert!(topic.read(0, Offset(99), 10).expect("read").is_empty());
    // Reopened, the same reads come from the files instead of the cache.
    drop((topic, store));
    let store = Store::open(data_dir.path(), StoreConfig::default()).expect("reopen");
    let topic = store.topic("ids").expect("topic");
    assert_eq!(
        ids_of(&topic.read(0, Offset(7), 8).expect("read")),
        (7..15).collect::<Vec<_>>()
    );
    assert_eq!(
        ids_of(&topic.read(0, Offset(7), 1).expect("read")),
        vec![7, 8, 9]
    );
}

#[tokio::test]
async fn reopen_keeps_acknowledged_rows_and_continues_offsets() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    {
        let store = Store::open(data_dir.path(), small_segments()).expect("open");
        let topic = store
            .create_topic("events", ids_schema(), 2)
            .expect("create");
        for start in (0..500).step_by(50) {
            topic
                .append(0, vec![ids_batch(start..start + 50)])
                .await
                .expect("append");
        }
        topic
            .append(1, vec![ids_batch([-1])])
            .await
            .expect("append");
        let mut state = StateBatch::default();
        state.put(
            Keyspace::Offsets,
            b"events/0".to_vec(),
            500u64.to_be_bytes().to_vec(),
        );
        store.state().commit(state).expect("state commit");
    }
    let store = Store::open(data_dir.path(), small_segments()).expect("reopen");
    assert_eq!(store.topic_names(), vec!["events".to_string()]);
    let topic = store.topic("events").expect("topic");
    assert_eq!(topic.partition_count(), 2);
    assert_eq!(topic.end_offset(0), Offset(500));
    assert_eq!(topic.end_offset(1), Offset(1));
    assert_eq!(
        ids_of(&read_all(&topic, 0, 0, 64)),
        (0..500).collect::<Vec<_>>()
    );
    let offset = topic
        .append(0, vec![ids_batch([500, 501])])
        .await
        .expect("append");
    assert_eq!(offset, Offset(500));
    assert_eq!(
        ids_of(&topic.read(0, Offset(499), 10).expect("read")),
        vec![499, 500, 501]
    );
    assert_eq!(
        store
            .state()
            .get(Keyspace::Offsets, b"events/0")
            .expect("get"),
        Some(500u64.to_be_bytes().to_vec())
    );
}

async fn torn_tail_is_cut_off(damage: impl FnOnce(&Path)) {
    let data_dir = tempfile::tempdir().expect("temp dir");
    {
        let store = Store::open(data_dir.path(), StoreConfig::default()).expect("open");
        let topic = store.create_topic("torn", ids_schema(), 1).expect("create");
        topic
            .append(0, vec![ids_batch(0..10)])
            .await
            .expect("append");
        topic
            .append(0, vec![ids_batch(10..20)])
            .await
            .expect("append");
    }
    let segments = segment_files(data_dir.path(), "torn", 0);
    damage(segments.last().expect("one segment"));
    let store = Store::open(data_dir.path(), StoreConfig::default()).expect("reopen");
    let topic = store.topic("torn").expect("topic");
    let survivors = ids_of(&read_all(&topic, 0, 0, 100));
    let end = topic.end_offset(0).0 as i64;
    assert!(
        end == 10 || end == 20,
        "whole frames survive, got end {end}"
    );
    assert_eq!(survivors, (0..end).collect::<Vec<_>>());
    let offset = topic
        .append(0, vec![ids_batch([100, 101])])
        .await
        .expect("append");
    assert_eq!(offset, Offset(end as u64));
    drop((topic, store));
    let store = Store::open(data_dir.path(), StoreConfig::default()).expect("reopen again");
    let topic = store.topic("torn").expect("topic");
    let mut expected: Vec<i64> = (0..end).collect();
    expected.extend([100, 101]);
    assert_eq!(ids_of(&read_all(&topic, 0, 0, 100)), expected);
}

#[tokio::test]
async fn torn_tail_chopped_bytes() {
    torn_tail_is_cut_off(|path| {
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .expect("open segment");
        let length = file.metadata().expect("stat").len();
        file.set_len(length - 7).expect("chop");
    })
    .await;
}

#[tokio::test]
async fn torn_tail_appended_garbage() {
    torn_tail_is_cut_off(|path| {
        let mut file = OpenOptions::new()
            .append(true)
            .open(path)
            .expect("open segment");
        file.write_all(b"EDF1\xff\xff garbage after the last frame")
            .expect("garbage");
    })
    .await;
}

#[tokio::test]
async fn torn_tail_flipped_last_byte() {
    torn_tail_is_cut_off(|path| {
        let mut bytes = std::fs::read(path).expect("read segment");
        let last = bytes.len() - 1;
        bytes[last] ^= 0x55;
        std::fs::write(path, bytes).expect("write segment");
    })
    .await;
}

#[tokio::test]
async fn corruption_in_a_sealed_segment_is_an_error_not_a_panic() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    {
        let store = Store::open(data_dir.path(), small_segments()).expect("open");
        let topic = store.create_topic("bad", ids_schema(), 1).expect("create");
        for start in (0..2000).step_by(100) {
            topic
                .append(0, vec![ids_batch(start..start + 100)])
                .await
                .expect("append");
        }
    }
    let segments = segment_files(data_dir.path(), "bad", 0);
    assert!(segments.len() > 2);
    // A flipped body byte in a sealed segment: found by the crc check when read.
    let mut bytes = std::fs::read(&segments[0]).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&segments[0], &bytes).expect("write");
    let store = Store::open(data_dir.path(), small_segments()).expect("headers are intact");
    let topic = store.topic("bad").expect("topic");
    let error = read_all_result(&topic);
    assert!(
        matches!(error, Err(StorageError::Corrupt { .. })),
        "{error:?}"
    );
    drop((topic, store));
    // A damaged header in a sealed segment: refused at open.
    bytes[0] = b'X';
    std::fs::write(&segments[0], &bytes).expect("write");
    let opened = Store::open(data_dir.path(), small_segments());
    assert!(
        matches!(opened, Err(StorageError::Corrupt { .. })),
        "{opened:?}"
    );
}

fn read_all_result(topic: &eddy_storage::Topic) -> Result<(), StorageError> {
    let mut next = Offset(0);
    while next < topic.end_offset(0) {
        let batches = topic.read(0, next, 1000)?;
        let (offset, batch) = batches.last().expect("rows below the end offset");
        next = Offset(offset.0 + batch.num_rows() as u64);
    }
    Ok(())
}

#[tokio::test]
async fn truncate_then_append_and_truncate_inside_a_batch() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(data_dir.path(), small_segments()).expect("open");
    let topic = store.create_topic("sink", ids_schema(), 1).expect("create");
    for start in (0..1000).step_by(100) {
        topic
            .append(0, vec![ids_batch(start..start + 100)])
            .await
            .expect("append");
    }
    let segments_before = segment_files(data_dir.path(), "sink", 0).len();
    topic
        .truncate(0, Offset(300))
        .expect("truncate at a batch boundary");
    assert_eq!(topic.end_offset(0), Offset(300));
    assert!(segment_files(data_dir.path(), "sink", 0).len() < segments_before);
    assert!(topic.read(0, Offset(300), 10).expect("read").is_empty());
    topic
        .truncate(0, Offset(250))
        .expect("truncate inside a batch");
    assert_eq!(topic.end_offset(0), Offset(250));
    assert!(matches!(
        topic.truncate(0, Offset(251)),
        Err(StorageError::TruncateBeyondEnd { .. })
    ));
    let offset = topic
        .append(0, vec![ids_batch(-5..0)])
        .await
        .expect("append");
    assert_eq!(offset, Offset(250));
    let mut expected: Vec<i64> = (0..250).collect();
    expected.extend(-5..0);
    assert_eq!(ids_of(&read_all(&topic, 0, 0, 64)), expected);
    drop((topic, store));
    let store = Store::open(data_dir.path(), small_segments()).expect("reopen");
    let topic = store.topic("sink").expect("topic");
    assert_eq!(ids_of(&read_all(&topic, 0, 0, 64)), expected);
    topic.truncate(0, Offset(0)).expect("truncate everything");
    assert_eq!(topic.end_offset(0), Offset(0));
    assert_eq!(
        topic.append(0, vec![ids_batch([7])]).await.expect("append"),
        Offset(0)
    );
}

#[tokio::test]
async fn drop_then_create_again_gives_an_empty_topic() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(data_dir.path(), StoreConfig::default()).expect("open");
    let old = store.create_topic("t", ids_schema(), 1).expect("create");
    old.append(0, vec![ids_batch(0..5)]).await.expect("append");
    assert!(matches!(
        store.create_topic("t", ids_schema(), 1),
        Err(StorageError::TopicExists { .. })
    ));
    let mut watcher = old.watch_end_offset(0);
    store.drop_topic("t").expect("drop");
    assert!(store.topic("t").is_none());
    watcher
        .changed()
        .await
        .expect("dropping wakes waiting readers");
    assert!(matches!(
        old.read(0, Offset(0), 10),
        Err(StorageError::TopicDropped { .. })
    ));
    assert!(matches!(
        old.append(0, vec![ids_batch([1])]).await,
        Err(StorageError::TopicDropped { .. })
    ));
    assert!(matches!(
        store.drop_topic("t"),
        Err(StorageError::TopicNotFound { .. })
    ));
    let new = store
        .create_topic("t", ids_schema(), 1)
        .expect("create again");
    assert_eq!(new.end_offset(0), Offset(0));
    assert!(new.read(0, Offset(0), 10).expect("read").is_empty());
    assert_eq!(
        new.append(0, vec![ids_batch([9])]).await.expect("append"),
        Offset(0)
    );
    drop((new, store));
    let store = Store::open(data_dir.path(), StoreConfig::default()).expect("reopen");
    assert_eq!(
        ids_of(
            &store
                .topic("t")
                .expect("topic")
                .read(0, Offset(0), 10)
                .expect("read")
        ),
        vec![9]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_land_exactly_once_with_gapless_offsets() {
    const TASKS: i64 = 32;
    const APPENDS_PER_TASK: i64 = 20;
    let data_dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(data_dir.path(), small_segments()).expect("open");
    let topic = store.create_topic("busy", ids_schema(), 2).expect("create");
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let topic = topic.clone();
        tasks.spawn(async move {
            let mut placed = Vec::new();
            for append in 0..APPENDS_PER_TASK {
                let first_id = (task * APPENDS_PER_TASK + append) * 3;
                let batch = ids_batch(first_id..first_id + 3);
                let partition = (task % 2) as u32;
                let offset = topic.append(partition, vec![batch]).await.expect("append");
                placed.push((partition, offset, first_id));
            }
            placed
        });
    }
    let mut placed = Vec::new();
    while let Some(result) = tasks.join_next().await {
        placed.extend(result.expect("task"));
    }
    for partition in 0..2 {
        let mut offsets: Vec<u64> = placed
            .iter()
            .filter(|(placed_partition, _, _)| *placed_partition == partition)
            .map(|(_, offset, _)| offset.0)
            .collect();
        offsets.sort_unstable();
        let expected: Vec<u64> = (0..offsets.len() as u64).map(|index| index * 3).collect();
        assert_eq!(offsets, expected, "distinct, gapless offsets");
        let rows = read_all(&topic, partition, 0, 50);
        for (partition_placed, offset, first_id) in &placed {
            if *partition_placed == partition {
                let read = topic.read(partition, *offset, 1).expect("read");
                assert_eq!(
                    ids_of(&read[..1])[..3],
                    [*first_id, first_id + 1, first_id + 2]
                );
            }
        }
        let mut ids = ids_of(&rows);
        ids.sort_unstable();
        let mut expected_ids: Vec<i64> = placed
            .iter()
            .filter(|(placed_partition, _, _)| *placed_partition == partition)
            .flat_map(|(_, _, first_id)| *first_id..first_id + 3)
            .collect();
        expected_ids.sort_unstable();
        assert_eq!(ids, expected_ids, "every row exactly once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_end_offset_wakes_a_waiting_reader() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(data_dir.path(), StoreConfig::default()).expect("open");
    let topic = store.create_topic("tail", ids_schema(), 1).expect("create");
    let mut watcher = topic.watch_end_offset(0);
    assert_eq!(*watcher.borrow_and_update(), Offset(0));
    let reader_topic = topic.clone();
    let reader = tokio::spawn(async move {
        let mut next = Offset(0);
        let mut ids = Vec::new();
        while ids.len() < 6 {
            let batches = reader_topic.read(0, next, 100).expect("read");
            if let Some((offset, batch)) = batches.last() {
                next = Offset(offset.0 + batch.num_rows() as u64);
            }
            ids.extend(ids_of(&batches));
            if ids.len() < 6 {
                watcher
                    .wait_for(|end| *end > next)
                    .await
                    .expect("topic alive");
            }
        }
        ids
    });
    topic
        .append(0, vec![ids_batch(0..3)])
        .await
        .expect("append");
    topic
        .append(0, vec![ids_batch(3..6)])
        .await
        .expect("append");
    assert_eq!(reader.await.expect("reader"), (0..6).collect::<Vec<_>>());
}

/// A reader of a topic's ends never sees an append to several partitions in some of them
/// only: a change spread over partitions (an UPDATE of many keys) is read whole or not yet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_offsets_show_an_append_to_several_partitions_whole() {
    const PARTITIONS: u32 = 4;
    const APPENDS: i64 = 300;
    let data_dir = tempfile::tempdir().expect("temp dir");
    let config = StoreConfig {
        durability: Durability::Os,
        ..StoreConfig::default()
    };
    let store = Store::open(data_dir.path(), config).expect("open");
    let topic = store
        .create_topic("spread", ids_schema(), PARTITIONS)
        .expect("create");
    let reader_topic = topic.clone();
    let reader = std::thread::spawn(move || {
        let mut uneven = Vec::new();
        loop {
            let ends = reader_topic.end_offsets();
            if ends.iter().any(|end| *end != ends[0]) {
                uneven.push(ends.clone());
            }
            if ends[0] == Offset(APPENDS as u64) {
                return uneven;
            }
        }
    });
    for id in 0..APPENDS {
        let one_row_each = (0..PARTITIONS)
            .map(|partition| (partition, ids_batch([id])))
            .collect();
        topic.append_partitions(one_row_each).await.expect("append");
    }
    let uneven = reader.join().expect("reader");
    assert!(uneven.is_empty(), "ends seen mid-append: {uneven:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn os_durability_appends_reads_and_recovers() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let config = StoreConfig {
        durability: Durability::Os,
        ..small_segments()
    };
    {
        let store = Store::open(data_dir.path(), config.clone()).expect("open");
        let topic = store.create_topic("fast", ids_schema(), 3).expect("create");
        let batches = (0..30)
            .map(|index| ((index % 3) as u32, ids_batch([index])))
            .collect();
        topic.append_partitions(batches).await.expect("append");
        for partition in 0..3 {
            assert_eq!(topic.end_offset(partition), Offset(10));
        }
    }
    let store = Store::open(data_dir.path(), config).expect("reopen");
    let topic = store.topic("fast").expect("topic");
    for partition in 0..3 {
        let expected: Vec<i64> = (0..30)
            .filter(|index| index % 3 == i64::from(partition))
            .collect();
        assert_eq!(ids_of(&read_all(&topic, partition, 0, 4)), expected);
    }
}

#[tokio::test]
async fn bad_appends_are_refused() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(data_dir.path(), StoreConfig::default()).expect("open");
    let topic = store
        .create_topic("strict", ids_schema(), 1)
        .expect("create");
    let wrong = rich_batch(0, 2);
    assert!(matches!(
        topic.append(0, vec![wrong]).await,
        Err(StorageError::SchemaMismatch { .. })
    ));
    let nullable_schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, true)]));
    let nullable = RecordBatch::try_new(nullable_schema, vec![Arc::new(Int64Array::from(vec![1]))])
        .expect("column matches the schema");
    assert!(matches!(
        topic.append(0, vec![nullable]).await,
        Err(StorageError::SchemaMismatch { .. })
    ));
    assert!(matches!(
        topic.append(1, vec![ids_batch([1])]).await,
        Err(StorageError::PartitionOutOfRange { .. })
    ));
    assert_eq!(
        topic.append(0, vec![ids_batch([])]).await.expect("empty"),
        Offset(0)
    );
    // The same columns under an equal but separately built schema are accepted.
    assert_eq!(
        topic.append(0, vec![ids_batch([1])]).await.expect("append"),
        Offset(0)
    );
    assert!(
        topic.watch_end_offset(5).has_changed().is_err(),
        "no such partition: closed"
    );
    assert_eq!(topic.end_offset(5), Offset(0));
    assert!(matches!(
        store.create_topic("", ids_schema(), 1),
        Err(StorageError::InvalidTopic { .. })
    ));
    let odd_name = "we/ird ..\"name\"";
    store
        .create_topic(odd_name, ids_schema(), 1)
        .expect("any name is a safe directory");
    assert!(store.topic(odd_name).is_some());
}

#[tokio::test]
async fn tagged_appends_land_once_per_partition_and_epoch_even_across_reopen() {
    let data = tempfile::tempdir().expect("temp dir");
    let producer = 7;
    {
        let store = Store::open(data.path(), StoreConfig::default()).expect("opens");
        let topic = store
            .create_topic("sink", ids_schema(), 2)
            .expect("creates");
        let epoch_one = vec![
            (0, ids_batch([1, 2])),
            (1, ids_batch([3])),
            (0, ids_batch([4])),
        ];
        topic
            .append_idempotent(epoch_one.clone(), producer, 1)
            .await
            .expect("appends");
        // A repeat (as after a crash) changes nothing; batches for one partition became one frame.
        topic
            .append_idempotent(epoch_one, producer, 1)
            .await
            .expect("repeat is accepted");
        assert_eq!(ids_of(&read_all(&topic, 0, 0, 100)), vec![1, 2, 4]);
        assert_eq!(ids_of(&read_all(&topic, 1, 0, 100)), vec![3]);
        assert_eq!(
            topic.producer_epoch(0, producer).expect("partition"),
            Some(1)
        );
        // Another producer's tags are independent; untagged appends are never ignored.
        topic
            .append_idempotent(vec![(1, ids_batch([5]))], producer + 1, 1)
            .await
            .expect("appends");
        topic
            .append_partitions(vec![(1, ids_batch([6])), (1, ids_batch([6]))])
            .await
            .expect("appends");
        assert_eq!(ids_of(&read_all(&topic, 1, 0, 100)), vec![3, 5, 6, 6]);
        // Epoch 2 reached only partition 1 before the "crash".
        topic
            .append_idempotent(vec![(1, ids_batch([8]))], producer, 2)
            .await
            .expect("appends");
    }
    let store = Store::open(data.path(), StoreConfig::default()).expect("reopens");
    let topic = store.topic("sink").expect("topic survives");
    assert_eq!(
        topic.producer_epoch(1, producer).expect("partition"),
        Some(2)
    );
    topic
        .append_idempotent(vec![(0, ids_batch([7])), (1, ids_batch([8]))], producer, 2)
        .await
        .expect("the repeated epoch completes");
    assert_eq!(ids_of(&read_all(&topic, 0, 0, 100)), vec![1, 2, 4, 7]);
    assert_eq!(ids_of(&read_all(&topic, 1, 0, 100)), vec![3, 5, 6, 6, 8]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_encoded_apart_land_like_plain_ones() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(data_dir.path(), StoreConfig::default()).expect("open");
    let topic = store
        .create_topic("split", ids_schema(), 2)
        .expect("create");
    // Encoding is plain CPU work: it may run on any thread, here one of its own.
    let encoded = std::thread::scope(|scope| {
        scope
            .spawn(|| topic.encode_partitions(vec![(0, ids_batch([1, 2])), (1, ids_batch([3]))]))
            .join()
            .expect("encoding thread")
    })
    .expect("encode");
    topic
        .queue_encoded(encoded)
        .await
        .expect("queue")
        .durable()
        .await
        .expect("durable");
    let tagged = topic
        .encode_idempotent(vec![(1, ids_batch([4]))], 7, 1)
        .expect("encode");
    topic.append_encoded(tagged).await.expect("append");
    // The same epoch again is ignored, as with append_idempotent.
    let again = topic
        .encode_idempotent(vec![(1, ids_batch([4]))], 7, 1)
        .expect("encode");
    topic.append_encoded(again).await.expect("append");
    assert_eq!(ids_of(&read_all(&topic, 0, 0, 10)), vec![1, 2]);
    assert_eq!(ids_of(&read_all(&topic, 1, 0, 10)), vec![3, 4]);
}

#[tokio::test]
#[should_panic(expected = "queued on topic")]
async fn frames_encoded_by_one_topic_are_refused_by_another() {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(data_dir.path(), StoreConfig::default()).expect("open");
    let first = store
        .create_topic("first", ids_schema(), 1)
        .expect("create");
    let second = store
        .create_topic("second", ids_schema(), 1)
        .expect("create");
    let encoded = first
        .encode_partitions(vec![(0, ids_batch([1]))])
        .expect("encode");
    let _ = second.queue_encoded(encoded).await;
}
