//! `COPY stream|table [(columns)] FROM STDIN`: checks the statement against the catalog and
//! opens the sink the front end feeds the client's data to (`copy_in.rs`).
//!
//! Never: open a COPY into a table that a persistent query maintains.

use eddy_parser::CopyFrom;

use crate::copy_in::CopyInSink;
use crate::engine::EngineCore;
use crate::error::EngineResult;

pub fn open(engine: &EngineCore, copy: &CopyFrom) -> EngineResult<CopyInSink> {
    let source = engine.read_catalog().source_required(&copy.target)?.clone();
    CopyInSink::new(engine.source_writer(&source)?, copy)
}
