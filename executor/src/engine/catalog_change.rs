//! A change of the catalog, from check to publish: it holds the catalog lock, works on a copy
//! of the catalog, creates a new source's log before the catalog names it, and publishes by
//! persisting the changed entries (one atomic, durable commit) and only then swapping the
//! copy in. A crash at any point leaves the old catalog (plus an orphan log that the next
//! open removes) or the new one.
//!
//! Never: publish a catalog change that is not yet durable.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use eddy_planner::{
    Catalog, CatalogEntry, Column, QueryDef, SourceDef, SourceKind, TimestampColumn, TypeDef,
    WindowKind,
};
use eddy_storage::{Keyspace, StateBatch};

use crate::engine::EngineCore;
use crate::error::EngineResult;
use crate::state::commit::commit_state;

/// What a new source's WITH properties decided.
#[derive(Debug, Default)]
pub(crate) struct SourceSettings {
    pub partitions: Option<u32>,
    pub timestamp: Option<TimestampColumn>,
    /// Properties as given (names upper-cased), shown by DESCRIBE.
    pub recorded: BTreeMap<String, String>,
    /// `CREATE SOURCE STREAM|TABLE`: no statement may write it.
    pub source_only: bool,
    /// A windowed aggregation's result: keyed by window too.
    pub window: Option<WindowKind>,
    /// A stream's retention (`RETENTION_MS`, `RETENTION`).
    pub retention_ms: Option<u64>,
}

pub(crate) struct CatalogChange<'a> {
    core: &'a EngineCore,
    _serialized: tokio::sync::MutexGuard<'a, ()>,
    /// The catalog as it will be once published.
    catalog: Catalog,
    /// The entries that differ, to persist.
    entries: Vec<CatalogEntry>,
}

impl<'a> CatalogChange<'a> {
    pub(super) async fn begin(core: &'a EngineCore) -> CatalogChange<'a> {
        let serialized = core.catalog_lock.lock().await;
        let catalog = core.read_catalog().clone();
        CatalogChange {
            core,
            _serialized: serialized,
            catalog,
            entries: Vec::new(),
        }
    }

    /// The catalog with the changes so far.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// A new object number (query ids, topic names), persisted with the change.
    pub fn allocate_number(&mut self) -> u64 {
        let (number, entry) = self.catalog.allocate_number();
        self.entries.push(entry);
        number
    }

    /// A new source, its log created; the catalog names it once published.
    pub fn create_source(
        &mut self,
        name: &str,
        kind: SourceKind,
        columns: Vec<Column>,
        settings: SourceSettings,
        created_by: Option<String>,
    ) -> EngineResult<SourceDef> {
        let number = self.allocate_number();
        let sanitized: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(64)
            .collect();
        let source = SourceDef {
            name: name.to_string(),
            kind,
            columns,
            properties: settings.recorded,
            partitions: settings.partitions.unwrap_or(1),
            timestamp: settings.timestamp,
            topic: format!("{number:06}-{sanitized}"),
            created_by,
            source_only: settings.source_only,
            window: settings.window,
            retention_ms: settings.retention_ms,
        };
        self.core.env.store.create_topic(
            &source.topic,
            source.stored_schema(),
            source.partitions,
        )?;
        self.entries.push(self.catalog.put_source(source.clone()));
        Ok(source)
    }

    pub fn put_query(&mut self, query: QueryDef) {
        self.entries.push(self.catalog.put_query(query));
    }

    pub fn remove_query(&mut self, id: &str) {
        self.entries.extend(self.catalog.remove_query(id));
    }

    pub fn put_type(&mut self, named: TypeDef) {
        self.entries.push(self.catalog.put_type(named));
    }

    /// Whether the type existed.
    pub fn remove_type(&mut self, name: &str) -> bool {
        let removed = self.catalog.remove_type(name);
        let existed = removed.is_some();
        self.entries.extend(removed);
        existed
    }

    pub fn remove_source(&mut self, name: &str) {
        if let Some((_, entry)) = self.catalog.remove_source(name) {
            self.entries.push(entry);
        }
    }

    /// Persists the change, then makes it visible.
    pub async fn publish(self) -> EngineResult<()> {
        let mut batch = StateBatch::default();
        for (key, value) in self.entries {
            match value {
                Some(value) => batch.put(Keyspace::Catalog, key, value),
                None => batch.delete(Keyspace::Catalog, key),
            }
        }
        commit_state(&self.core.env.store, batch).await?;
        *self
            .core
            .env
            .catalog
            .write()
            .expect("catalog lock is never poisoned: nothing panics while holding it") =
            self.catalog;
        self.core.catalog_version.fetch_add(1, Ordering::Release);
        Ok(())
    }
}
