//! A topic's directory and metadata file. The directory name is the topic name with every
//! byte outside `[A-Za-z0-9_-]` escaped as `%XX`, so any name is a safe file name; the exact
//! name, the partition count and the schema (an Arrow IPC stream) are in `topic.meta`, which
//! carries a crc32 and is written last (atomically, by rename): a directory without it is an
//! unfinished creation, and one named `*.deleting.N` an unfinished drop. Both are removed at
//! open.
//!
//! Never: trust the metadata file before its crc is checked (a bad file must not panic).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use arrow::datatypes::{DataType, SchemaRef};
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use tracing::warn;

use crate::error::StorageError;
use crate::limits::{PARTITIONS_MAX, TOPIC_NAME_BYTES_MAX};
use crate::log::partition::{replace_file_durably, sync_directory};

const METADATA_FILE_NAME: &str = "topic.meta";
const METADATA_TEMPORARY_FILE_NAME: &str = "topic.meta.tmp";
const METADATA_MAGIC: [u8; 4] = *b"EDTM";
const METADATA_FORMAT_VERSION: u32 = 1;
const METADATA_HEADER_BYTES: usize = 16;
const DELETING_MARKER: &str = ".deleting.";
const DELETING_ATTEMPTS_MAX: u32 = 1000;

/// Where a topic lives on disk and what its metadata says.
#[derive(Clone, Debug)]
pub(crate) struct TopicFiles {
    name: String,
    partition_count: u32,
    schema: SchemaRef,
    directory: PathBuf,
}

impl TopicFiles {
    /// Checks a new topic's definition and creates its (empty) directory. The topic exists on
    /// disk only once `write_metadata` has run.
    pub(crate) fn prepare(
        logs_directory: &Path,
        name: &str,
        schema: SchemaRef,
        partition_count: u32,
    ) -> Result<Self, StorageError> {
        check_definition(name, &schema, partition_count)?;
        let directory = logs_directory.join(topic_directory_name(name));
        if directory.exists() {
            warn!(path = %directory.display(), "removing a stale directory of an unknown topic");
            std::fs::remove_dir_all(&directory)
                .map_err(StorageError::io("remove directory", &directory))?;
        }
        std::fs::create_dir(&directory)
            .map_err(StorageError::io("create directory", &directory))?;
        Ok(TopicFiles {
            name: name.to_string(),
            partition_count,
            schema,
            directory,
        })
    }

    /// Reads a topic directory's metadata; `None` for an unfinished creation (no metadata).
    pub(crate) fn load(directory: PathBuf) -> Result<Option<Self>, StorageError> {
        let path = directory.join(METADATA_FILE_NAME);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(StorageError::io("read metadata", &path)(error)),
        };
        let corrupt = |reason: String| StorageError::CorruptMetadata {
            path: path.clone(),
            reason,
        };
        let (partition_count, name, schema) = decode_metadata(&bytes).map_err(corrupt)?;
        check_definition(&name, &schema, partition_count)
            .map_err(|error| corrupt(error.to_string()))?;
        Ok(Some(TopicFiles {
            name,
            partition_count,
            schema,
            directory,
        }))
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn partition_count(&self) -> u32 {
        self.partition_count
    }

    pub(crate) fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    pub(crate) fn partition_directory(&self, partition: u32) -> PathBuf {
        self.directory.join(format!("partition-{partition:05}"))
    }

    /// Writes the metadata file durably; from then on the topic exists.
    pub(crate) fn write_metadata(&self) -> Result<(), StorageError> {
        let bytes = encode_metadata(self.partition_count, &self.name, &self.schema)?;
        replace_file_durably(
            &self.directory,
            METADATA_FILE_NAME,
            METADATA_TEMPORARY_FILE_NAME,
            &bytes,
        )?;
        if let Some(logs_directory) = self.directory.parent() {
            sync_directory(logs_directory)?;
        }
        Ok(())
    }

    /// Removes the topic from disk: a durable rename first (so it is gone even if a crash
    /// interrupts the removal), then the files.
    pub(crate) fn remove(&self) -> Result<(), StorageError> {
        let Some(logs_directory) = self.directory.parent() else {
            return Ok(());
        };
        let directory_name = topic_directory_name(&self.name);
        let deleting = (0..DELETING_ATTEMPTS_MAX)
            .map(|attempt| {
                logs_directory.join(format!("{directory_name}{DELETING_MARKER}{attempt}"))
            })
            .find(|candidate| !candidate.exists())
            .ok_or_else(|| StorageError::InvalidTopic {
                name: self.name.clone(),
                reason: "too many unfinished removals of this name; reopen the store".to_string(),
            })?;
        std::fs::rename(&self.directory, &deleting)
            .map_err(StorageError::io("rename directory", &self.directory))?;
        sync_directory(logs_directory)?;
        if let Err(error) = std::fs::remove_dir_all(&deleting) {
            warn!(path = %deleting.display(), %error, "cannot remove a dropped topic's files; retried at next open");
        }
        Ok(())
    }
}

/// Lists the topics under `logs_directory`, removing unfinished creations and drops.
pub(crate) fn load_topics(logs_directory: &Path) -> Result<Vec<TopicFiles>, StorageError> {
    let entries = std::fs::read_dir(logs_directory)
        .map_err(StorageError::io("list directory", logs_directory))?;
    let mut topics = Vec::new();
    for entry in entries {
        let entry = entry.map_err(StorageError::io("list directory", logs_directory))?;
        let path = entry.path();
        if !path.is_dir() {
            warn!(path = %path.display(), "ignoring a file that is not a topic directory");
            continue;
        }
        let unfinished_drop = entry
            .file_name()
            .to_string_lossy()
            .contains(DELETING_MARKER);
        let files = match unfinished_drop {
            true => None,
            false => TopicFiles::load(path.clone())?,
        };
        match files {
            Some(files) => topics.push(files),
            None => {
                warn!(path = %path.display(), "removing an unfinished topic creation or drop");
                std::fs::remove_dir_all(&path)
                    .map_err(StorageError::io("remove directory", &path))?;
            }
        }
    }
    topics.sort_by(|left, right| left.name.cmp(&right.name));
    Ok(topics)
}

pub(crate) fn topic_directory_name(name: &str) -> String {
    let mut directory_name = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            directory_name.push(char::from(byte));
        } else {
            directory_name.push_str(&format!("%{byte:02X}"));
        }
    }
    directory_name
}

fn check_definition(
    name: &str,
    schema: &SchemaRef,
    partition_count: u32,
) -> Result<(), StorageError> {
    let invalid = |reason: String| StorageError::InvalidTopic {
        name: name.to_string(),
        reason,
    };
    if name.is_empty() || name.len() > TOPIC_NAME_BYTES_MAX {
        return Err(invalid(format!(
            "a name has 1 to {TOPIC_NAME_BYTES_MAX} bytes"
        )));
    }
    if partition_count == 0 || partition_count > PARTITIONS_MAX {
        return Err(invalid(format!(
            "a topic has 1 to {PARTITIONS_MAX} partitions"
        )));
    }
    match schema
        .fields()
        .iter()
        .find(|field| contains_dictionary(field.data_type()))
    {
        Some(field) => Err(StorageError::UnsupportedType {
            topic: name.to_string(),
            column: field.name().clone(),
            data_type: field.data_type().to_string(),
        }),
        None => Ok(()),
    }
}

/// Dictionary columns would need their dictionaries in every frame; nothing in Eddy makes
/// them, so topics refuse them rather than store them badly.
fn contains_dictionary(data_type: &DataType) -> bool {
    match data_type {
        DataType::Dictionary(_, _) => true,
        DataType::List(field)
        | DataType::LargeList(field)
        | DataType::ListView(field)
        | DataType::LargeListView(field)
        | DataType::FixedSizeList(field, _)
        | DataType::Map(field, _) => contains_dictionary(field.data_type()),
        DataType::Struct(fields) => fields
            .iter()
            .any(|field| contains_dictionary(field.data_type())),
        DataType::Union(fields, _) => fields
            .iter()
            .any(|(_, field)| contains_dictionary(field.data_type())),
        DataType::RunEndEncoded(run_ends, values) => {
            contains_dictionary(run_ends.data_type()) || contains_dictionary(values.data_type())
        }
        _ => false,
    }
}

fn encode_metadata(
    partition_count: u32,
    name: &str,
    schema: &SchemaRef,
) -> Result<Vec<u8>, StorageError> {
    let mut writer = StreamWriter::try_new(Vec::new(), schema)?;
    writer.finish()?;
    let schema_bytes = writer.into_inner()?;
    let mut body = Vec::with_capacity(8 + name.len() + schema_bytes.len());
    body.extend_from_slice(&partition_count.to_le_bytes());
    // Names are at most TOPIC_NAME_BYTES_MAX bytes, checked before any topic is written.
    body.extend_from_slice(&(name.len() as u32).to_le_bytes());
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(&schema_bytes);
    let body_bytes = u32::try_from(body.len()).map_err(|_| StorageError::InvalidTopic {
        name: name.to_string(),
        reason: "schema too large".to_string(),
    })?;
    let mut bytes = Vec::with_capacity(METADATA_HEADER_BYTES + body.len());
    bytes.extend_from_slice(&METADATA_MAGIC);
    bytes.extend_from_slice(&METADATA_FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&body_bytes.to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    bytes.extend_from_slice(&body);
    Ok(bytes)
}

fn decode_metadata(bytes: &[u8]) -> Result<(u32, String, SchemaRef), String> {
    let word = |start: usize| -> Result<u32, String> {
        bytes
            .get(start..start + 4)
            .and_then(|slice| slice.try_into().ok())
            .map(u32::from_le_bytes)
            .ok_or_else(|| "file too short".to_string())
    };
    if bytes.get(0..4) != Some(METADATA_MAGIC.as_slice()) {
        return Err("not a topic metadata file".to_string());
    }
    let version = word(4)?;
    if version != METADATA_FORMAT_VERSION {
        return Err(format!("unknown format version {version}"));
    }
    let body = &bytes[METADATA_HEADER_BYTES.min(bytes.len())..];
    if body.len() != word(8)? as usize {
        return Err(format!(
            "body is {} bytes, header says {}",
            body.len(),
            word(8)?
        ));
    }
    if crc32fast::hash(body) != word(12)? {
        return Err("crc32 of the body does not match the header".to_string());
    }
    let partition_count = word(METADATA_HEADER_BYTES)?;
    let name_bytes = word(METADATA_HEADER_BYTES + 4)? as usize;
    let name = body
        .get(8..8 + name_bytes)
        .ok_or("name runs past the end of the file")?;
    let name = String::from_utf8(name.to_vec()).map_err(|_| "name is not UTF-8".to_string())?;
    let schema_bytes = &body[8 + name_bytes..];
    let reader = StreamReader::try_new(Cursor::new(schema_bytes), None)
        .map_err(|error| format!("bad schema: {error}"))?;
    Ok((partition_count, name, reader.schema()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::datatypes::{Field, Schema};

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("tags", DataType::new_list(DataType::Utf8, true), true),
        ]))
    }

    #[test]
    fn directory_names_escape_unsafe_bytes() {
        assert_eq!(topic_directory_name("Orders_2-x"), "Orders_2-x");
        assert_eq!(topic_directory_name("../a b"), "%2E%2E%2Fa%20b");
        assert_eq!(topic_directory_name("é"), "%C3%A9");
    }

    #[test]
    fn metadata_round_trips_and_detects_corruption() {
        let mut bytes = encode_metadata(3, "orders", &schema()).expect("encodes");
        let (partition_count, name, decoded) = decode_metadata(&bytes).expect("decodes");
        assert_eq!((partition_count, name.as_str()), (3, "orders"));
        assert_eq!(decoded, schema());
        let last = bytes.len() - 1;
        bytes[last] ^= 0x40;
        assert!(decode_metadata(&bytes).expect_err("crc").contains("crc32"));
        assert!(decode_metadata(&bytes[..10]).is_err());
        assert!(decode_metadata(b"").is_err());
    }

    #[test]
    fn dictionary_columns_and_bad_definitions_are_refused() {
        let nested = Arc::new(Schema::new(vec![Field::new(
            "tags",
            DataType::new_list(
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                true,
            ),
            true,
        )]));
        assert!(matches!(
            check_definition("t", &nested, 1),
            Err(StorageError::UnsupportedType { .. })
        ));
        assert!(check_definition("", &schema(), 1).is_err());
        assert!(check_definition("t", &schema(), 0).is_err());
        assert!(check_definition("t", &schema(), PARTITIONS_MAX + 1).is_err());
        assert!(check_definition(&"x".repeat(TOPIC_NAME_BYTES_MAX + 1), &schema(), 1).is_err());
        assert!(check_definition("t", &schema(), 1).is_ok());
    }
}
