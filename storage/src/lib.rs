//! `eddy-storage`: Eddy's embedded store. It owns the partitioned logs of Arrow record batches
//! (`Store`, `Topic`: segment files, group commit, recovery), the keyed state (`StateStore` on
//! fjall, with `StateBatch` commits atomic across `Keyspace`s), and the `ChangeBatch` that
//! every operator exchanges. It knows nothing of SQL, plans or queries.
//!
//! A `Store` opens one data directory. `Store::create_topic` makes a `Topic`, whose
//! `append` resolves once the rows are durable (and only then visible to `read`), and whose
//! `watch_end_offset` wakes readers tailing the log. `Topic::delete_segments_before` is
//! retention: it deletes a partition's oldest sealed segments once all their rows are older
//! than a cutoff the caller gives, and reads from below `Topic::first_offset` start there.
//!
//! ```
//! # use std::sync::Arc;
//! # use arrow::array::Int64Array;
//! # use arrow::datatypes::{DataType, Field, Schema};
//! # use arrow::record_batch::RecordBatch;
//! use eddy_storage::{Offset, Store, StoreConfig};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let data_dir = tempfile::tempdir()?;
//! let store = Store::open(data_dir.path(), StoreConfig::default())?;
//! let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
//! let topic = store.create_topic("clicks", schema.clone(), 1)?;
//! let batch = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1, 2, 3]))])?;
//! let runtime = tokio::runtime::Builder::new_current_thread().build()?;
//! let first = runtime.block_on(topic.append(0, vec![batch]))?;
//! assert_eq!(first, Offset(0));
//! let read = topic.read(0, Offset(1), 100)?;
//! assert_eq!(read[0].0, Offset(1));
//! assert_eq!(read[0].1.num_rows(), 2);
//! # Ok(())
//! # }
//! ```

mod change_batch;
mod error;
pub mod limits;
mod log;
mod memory_state;
mod priority;
mod state;
mod store;

pub use change_batch::ChangeBatch;
pub use error::StorageError;
pub use log::{DeletedSegments, Durability, EncodedAppend, Offset, PendingAppend, Topic};
pub use memory_state::MemoryStateStore;
pub use priority::{BulkWork, lower_this_threads_priority};
pub use state::{KeyValue, Keyspace, PrefixIter, StateBatch, StateSnapshot, StateStore};
pub use store::{Store, StoreConfig};
