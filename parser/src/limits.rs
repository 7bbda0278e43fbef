//! Explicit bounds on how deeply the parser recurses, so that no input, however nested,
//! can overflow the stack of the thread that parses it (a server connection task with a
//! 2 MiB stack), and no input can keep sqlparser backtracking for long. `nesting.rs` says
//! why sqlparser needs these bounds checked up front.
//!
//! Never: raise these without running `tests/never_panics.rs` on a debug build.

/// How deeply sqlparser may nest expressions and subqueries (its own default). Each level of
/// parentheses costs more than one, so real queries stay far below it.
pub(crate) const SQLPARSER_RECURSION_DEPTH_MAX: usize = 50;

/// How deeply parentheses, brackets and type angle brackets may nest in the whole input,
/// checked right after tokenizing. Above what sqlparser's counter lets through for
/// expressions, and far below the ~200 levels of nested types measured to fit in 2 MiB.
pub(crate) const NESTING_DEPTH_MAX: usize = 64;

/// How deeply special forms (`CAST(`, `POSITION(`, `CASE`, `INTERVAL`, ...) and `a.b.c`
/// name parts may nest. A syntax error inside them costs sqlparser 2 to 3 times more work
/// per level (it retries each as a plain name); at 10 levels the worst case measured
/// 0.19 s in a debug build, while real queries rarely pass 5.
pub(crate) const BACKTRACKING_DEPTH_MAX: usize = 10;

/// How deeply column types may nest (`ARRAY<MAP<STRING, STRUCT<...>>>`). Real schemas stay
/// well below ten levels; this bounds Eddy's own type parser even if the up-front check
/// above changes.
pub(crate) const COLUMN_TYPE_NESTING_DEPTH_MAX: usize = 32;

const _: () = assert!(NESTING_DEPTH_MAX >= SQLPARSER_RECURSION_DEPTH_MAX);
const _: () = assert!(COLUMN_TYPE_NESTING_DEPTH_MAX < NESTING_DEPTH_MAX);
const _: () = assert!(BACKTRACKING_DEPTH_MAX < NESTING_DEPTH_MAX);
