//! Newline-delimited input parsed in parallel, in input order.
//!
//! The input is cut into *chunks* of about `chunk_bytes` (the lines that start in each
//! stretch), and runs of consecutive chunks into *pieces*, one builder each, parsed on the
//! pool and returned in input order. A mapped file (or a slice) is one pass over the whole
//! input, with no barrier between blocks: waiting at the end of each 64 MiB block for its
//! slowest piece left a core idle for a fifth of the time on two cores. Streamed, it is
//! still handed on a block at a time, but the next blocks are parsed meanwhile.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use auditframe::decoder::FrameBuilder;
use auditframe::source::Progress;
use auditframe::Shape;
use rayon::prelude::*;

use crate::{Parsed, ReaderBuilder};

/// Pieces per thread in a block's worth of chunks: enough that the last piece to finish
/// leaves the other threads idle for a fraction of a block (and a thread slowed by other
/// work delays the pass by a fraction of a piece), few enough that the pieces' dictionaries
/// are cheap to merge.
const PIECES_PER_THREAD: usize = 4;

/// Progress of one pass over a whole input, shared by its pieces: the pass reports as a
/// block-by-block read would, once per `block_bytes` parsed (and its pieces stop at a
/// cancel).
pub(crate) struct Watch<'w> {
    name: &'w str,
    block_bytes: u64,
    bytes: AtomicU64,
    rows: AtomicU64,
    /// Held while reporting, so that reports are in order and none follows a cancel.
    report: Mutex<()>,
}

impl<'w> Watch<'w> {
    pub(crate) fn new(name: &'w str, block_bytes: usize) -> Watch<'w> {
        Watch {
            name,
            block_bytes: (block_bytes as u64).max(1),
            bytes: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            report: Mutex::new(()),
        }
    }

    /// Counts a parsed chunk; reports progress when the bytes parsed so far cross a block.
    fn chunk_done(&self, reader: &ReaderBuilder, bytes: usize, rows: usize) {
        self.rows.fetch_add(rows as u64, Ordering::Relaxed);
        let before = self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        let after = before + bytes as u64;
        let Some(progress) = &reader.progress else {
            return;
        };
        if before / self.block_bytes == after / self.block_bytes {
            return;
        }
        // A poisoned lock only means another report panicked; reporting goes on.
        let _held = self.report.lock().unwrap_or_else(|e| e.into_inner());
        if reader.check_cancelled().is_err() {
            return;
        }
        // Read under the lock: the counters only grow, so reports never go backwards.
        progress(&Progress {
            input: self.name,
            bytes: Some(self.bytes.load(Ordering::Relaxed)),
            row_groups: None,
            rows: self.rows.load(Ordering::Relaxed),
        });
    }
}

/// How a stretch of lines is cut into pieces: chunks of `size` bytes (the lines starting in
/// each), `per_piece` consecutive chunks a piece, one builder each.
struct Pieces<'b> {
    bytes: &'b [u8],
    size: usize,
    chunks: usize,
    per_piece: usize,
    /// Rows a piece's builder reserves.
    rows: usize,
}

impl<'b> Pieces<'b> {
    fn new(reader: &ReaderBuilder, bytes: &'b [u8]) -> Pieces<'b> {
        let size = reader.chunk_bytes.max(1);
        let chunks = bytes.len().div_ceil(size);
        let block_chunks = reader.block_bytes.div_ceil(size);
        let per_piece = chunks
            .min(block_chunks)
            .div_ceil(rayon::current_num_threads() * PIECES_PER_THREAD)
            .max(1);
        Pieces {
            bytes,
            size,
            chunks,
            per_piece,
            rows: rows_in(bytes, per_piece * size),
        }
    }

    fn count(&self) -> usize {
        self.chunks.div_ceil(self.per_piece)
    }
}

/// What every piece of one read shares.
struct PieceContext<'c> {
    shape: Option<Shape>,
    source: &'c Arc<str>,
    parsed: &'c Parsed<'c>,
    watch: Option<&'c Watch<'c>>,
    /// The first chunk (of the stretch) whose builder failed, in strict mode.
    first_failed: AtomicUsize,
    /// Set when the read stops early: pieces not yet started parse nothing.
    stop: AtomicBool,
}

impl<'c> PieceContext<'c> {
    fn new(
        shape: Option<Shape>,
        source: &'c Arc<str>,
        parsed: &'c Parsed<'c>,
        watch: Option<&'c Watch<'c>>,
    ) -> PieceContext<'c> {
        PieceContext {
            shape,
            source,
            parsed,
            watch,
            first_failed: AtomicUsize::new(usize::MAX),
            stop: AtomicBool::new(false),
        }
    }
}

impl ReaderBuilder {
    /// Parses the lines of `bytes` in pieces on the pool; the pieces' builders, in input
    /// order. `parsed` is told each stretch of `bytes` a piece is done with (a mapped file
    /// drops its page-table entries then, see [`crate::mmap::forget`]). With a `watch` (a
    /// pass over a whole input), progress is reported from the pieces, a cancel stops them
    /// at their next chunk; in strict mode, chunks after one that failed are not parsed
    /// (the first error in input order is the one reported).
    pub(crate) fn parse_lines_parallel(
        &self,
        bytes: &[u8],
        shape: Option<Shape>,
        source: &Arc<str>,
        parsed: &Parsed<'_>,
        watch: Option<&Watch<'_>>,
    ) -> Vec<FrameBuilder> {
        let pieces = Pieces::new(self, bytes);
        let cx = PieceContext::new(shape, source, parsed, watch);
        (0..pieces.count())
            .into_par_iter()
            // A task per piece: rayon otherwise runs a run of pieces as one task that no idle
            // thread can take from (measured: one core alone for the last 80 ms of a 1.3 GB
            // read).
            .with_max_len(1)
            .map(|piece| self.parse_piece(&pieces, piece, &cx))
            .collect()
    }

    /// Parses the lines of `bytes` a block at a time for a caller that takes each block's
    /// builders in turn (`emit`, on this thread, returns whether to go on), without waiting
    /// between blocks: the pieces of the next blocks are parsed while a block is emitted (at
    /// most [`BLOCKS_AHEAD`]` + 1` blocks ahead, so memory stays bounded).
    pub(crate) fn stream_lines(
        &self,
        bytes: &[u8],
        shape: Option<Shape>,
        source: &Arc<str>,
        parsed: &Parsed<'_>,
        emit: &mut EmitBlock<'_>,
    ) -> crate::Result<()> {
        let mut blocks = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            let block = split_on_lines_once(rest, self.block_bytes);
            rest = rest.get(block.len()..).unwrap_or_default();
            blocks.push(block);
        }
        // The pieces run on a pool of their own: on the caller's pool, the work the caller
        // does with each block (an analysis, itself parallel) queued behind every piece
        // already spawned, and the serial rest of it then ran with the pool idle (measured:
        // 1.22× the one-pass read's time). With two pools the system shares the cores.
        let pool = (blocks.len() > 1).then(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(rayon::current_num_threads())
                .thread_name(|i| format!("auditframe-parse-{i}"))
                .build()
        });
        let Some(Ok(pool)) = pool else {
            // One block (nothing to overlap), or no threads to be had: block after block.
            for block in blocks {
                let parts = self.parse_lines_parallel(block, shape, source, parsed, None);
                if !emit(parts, block)? {
                    break;
                }
            }
            return Ok(());
        };
        let plans: Vec<Pieces<'_>> = blocks.iter().map(|b| Pieces::new(self, b)).collect();
        let contexts: Vec<PieceContext<'_>> = blocks
            .iter()
            .map(|_| PieceContext::new(shape, source, parsed, None))
            .collect();
        let (tx, rx) = std::sync::mpsc::channel::<(usize, usize, Option<FrameBuilder>)>();
        pool.in_place_scope(|scope| {
            let spawn = |k: usize| {
                let (Some(plan), Some(cx)) = (plans.get(k), contexts.get(k)) else {
                    return;
                };
                for piece in 0..plan.count() {
                    let mut sent = Sent(tx.clone(), Some((k, piece)));
                    scope.spawn(move |_| {
                        let b = self.parse_piece(plan, piece, cx);
                        sent.send(b);
                    });
                }
            };
            (0..=BLOCKS_AHEAD).for_each(spawn);
            let mut ready: Vec<Vec<Option<FrameBuilder>>> = plans
                .iter()
                .map(|p| (0..p.count()).map(|_| None).collect())
                .collect();
            let mut missing: Vec<usize> = plans.iter().map(Pieces::count).collect();
            let stop_all = || {
                contexts
                    .iter()
                    .for_each(|c| c.stop.store(true, Ordering::Relaxed))
            };
            for (k, block) in blocks.iter().enumerate() {
                while missing.get(k).is_some_and(|&m| m > 0) {
                    // Every spawned piece sends once, even if it panics (see `Sent`).
                    let Ok((bk, piece, b)) = rx.recv() else {
                        break;
                    };
                    let Some(b) = b else {
                        // A piece panicked: the scope re-raises it once the others are done.
                        stop_all();
                        return Ok(());
                    };
                    if let Some(slot) = ready.get_mut(bk).and_then(|r| r.get_mut(piece)) {
                        *slot = Some(b);
                    }
                    if let Some(m) = missing.get_mut(bk) {
                        *m -= 1;
                    }
                }
                spawn(k + BLOCKS_AHEAD + 1);
                let parts = ready
                    .get_mut(k)
                    .map(|r| r.drain(..).flatten().collect())
                    .unwrap_or_default();
                match emit(parts, block) {
                    Ok(true) => {}
                    other => {
                        stop_all();
                        return other.map(|_| ());
                    }
                }
            }
            Ok(())
        })
    }

    /// Parses piece `piece` of `pieces` into a builder of its own.
    fn parse_piece(
        &self,
        pieces: &Pieces<'_>,
        piece: usize,
        cx: &PieceContext<'_>,
    ) -> FrameBuilder {
        let mut b = self.new_builder(cx.shape, cx.source);
        if cx.stop.load(Ordering::Relaxed) {
            return b;
        }
        b.reserve(pieces.rows);
        let (size, bytes) = (pieces.size, pieces.bytes);
        let first = piece * pieces.per_piece;
        let end = (first + pieces.per_piece).min(pieces.chunks);
        for i in first..end {
            if i > cx.first_failed.load(Ordering::Relaxed)
                || (cx.watch.is_some() && self.check_cancelled().is_err())
            {
                break;
            }
            let lines = lines_starting_in(bytes, i * size, (i + 1) * size);
            let before = b.rows();
            // Errors are kept inside the builder (strict mode stops it); `append` surfaces
            // them.
            let _ = b.push_lines(lines);
            if b.has_failed() {
                cx.first_failed.fetch_min(i, Ordering::Relaxed);
            }
            if let Some(w) = cx.watch {
                w.chunk_done(self, lines.len(), b.rows() - before);
            }
        }
        // The lines starting here are parsed (the line that runs into this stretch from the
        // one before may still be read: see `mmap::forget`).
        if let Some(done) = bytes.get(first * size..(end * size).min(bytes.len())) {
            (cx.parsed)(done);
        }
        b
    }
}

/// Takes a block's builders (and the block): whether to go on.
pub(crate) type EmitBlock<'e> = dyn FnMut(Vec<FrameBuilder>, &[u8]) -> crate::Result<bool> + 'e;

/// Blocks whose pieces are parsed ahead of the one being waited for; while that one is
/// emitted, the block after them is started too.
const BLOCKS_AHEAD: usize = 2;

/// A piece's result on its way to the block's emitter: sent once, as `None` if the piece
/// panicked before sending (so that the emitter never waits for it).
struct Sent(
    Sender<(usize, usize, Option<FrameBuilder>)>,
    Option<(usize, usize)>,
);

impl Sent {
    fn send(&mut self, b: FrameBuilder) {
        if let Some((k, piece)) = self.1.take() {
            let _ = self.0.send((k, piece, Some(b)));
        }
    }
}

impl Drop for Sent {
    fn drop(&mut self) {
        if let Some((k, piece)) = self.1.take() {
            let _ = self.0.send((k, piece, None));
        }
    }
}

/// The first piece of `buf` of about `target` bytes that ends at a newline (or all of `buf`).
pub(crate) fn split_on_lines_once(buf: &[u8], target: usize) -> &[u8] {
    // Through the first newline at or after byte `target`.
    let want = target.max(1).min(buf.len());
    buf.get(..line_start_at(buf, want + 1)).unwrap_or(buf)
}

/// The first line start at or after `at`: 0, or just after a newline.
fn line_start_at(buf: &[u8], at: usize) -> usize {
    if at == 0 {
        return 0;
    }
    match buf
        .get(at - 1..)
        .and_then(|tail| memchr::memchr(b'\n', tail))
    {
        Some(n) => at + n,
        None => buf.len(),
    }
}

/// About how many lines `bytes` of `block` hold, from the length of the lines in its first
/// [`LINE_SAMPLE`] bytes, with a quarter added: builders reserve that many rows, so that
/// their columns do not grow by copying (reserved and unused memory is never touched, so
/// over-estimating costs little).
fn rows_in(block: &[u8], bytes: usize) -> usize {
    let sample = block.get(..block.len().min(LINE_SAMPLE)).unwrap_or(block);
    let lines = memchr::memchr_iter(b'\n', sample).count().max(1);
    let per_line = (sample.len() / lines).max(1);
    bytes.min(block.len()) / per_line * 5 / 4
}

/// Bytes [`rows_in`] counts lines in.
const LINE_SAMPLE: usize = 256 << 10;

/// The lines of `buf` that start in `from..to`, as one slice (ending at a newline, or where
/// `buf` ends). Consecutive ranges give consecutive, disjoint slices that cover `buf`.
///
/// The search for the first line start stops at `to`: a range inside a long line holds no
/// line start and is empty at the cost of its own bytes. Searching on to the line's end made
/// every range of a one-line document (an `EventList` or a wrapper of `records`) scan the
/// rest of it: quadratic, 85 % of the time of a 219 MB document.
fn lines_starting_in(buf: &[u8], from: usize, to: usize) -> &[u8] {
    let to = to.min(buf.len());
    let start = match from {
        0 => 0,
        // A line starts at `p` in `from..to` just after a newline at `p - 1`.
        _ => match buf
            .get(from - 1..to.saturating_sub(1))
            .and_then(|window| memchr::memchr(b'\n', window))
        {
            Some(n) => from + n,
            None => return &[],
        },
    };
    if start >= to {
        return &[];
    }
    let end = line_start_at(buf, to).max(start);
    buf.get(start..end).unwrap_or_default()
}

/// Splits `buf` into the pieces the reader parses in parallel: for each stretch of `target`
/// bytes, the lines that start in it (empty pieces left out). Every piece but the last ends
/// at a newline; together they are `buf`.
pub fn split_on_lines(buf: &[u8], target: usize) -> Vec<&[u8]> {
    let size = target.max(1);
    (0..buf.len().div_ceil(size))
        .map(|i| lines_starting_in(buf, i * size, (i + 1) * size))
        .filter(|piece| !piece.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_starting_in_ranges_cover_the_buffer_in_order() {
        let buf = b"aaaa\nbb\ncccccc\nd\n\neee";
        for size in 1..30 {
            let parts: Vec<&[u8]> = (0..buf.len().div_ceil(size))
                .map(|i| lines_starting_in(buf, i * size, (i + 1) * size))
                .collect();
            assert_eq!(parts.concat(), buf.to_vec(), "size {size}");
            // Every non-empty part but the last ends at a newline and starts a line.
            let mut at = 0;
            for p in parts.iter().filter(|p| !p.is_empty()) {
                assert!(at == 0 || buf[at - 1] == b'\n', "size {size}");
                at += p.len();
                if at < buf.len() {
                    assert_eq!(p.last(), Some(&b'\n'), "size {size}");
                }
            }
        }
        assert!(lines_starting_in(b"", 0, 10).is_empty());
        assert_eq!(lines_starting_in(b"ab\ncd\n", 1, 4), b"cd\n");
    }

    proptest::proptest! {
        /// The lines that start in a range: those of the definition (the first line start at
        /// or after each end of the range), for buffers with long lines and ranges anywhere.
        #[test]
        fn lines_starting_in_is_the_definition(
            buf in proptest::collection::vec(proptest::prop_oneof![9 => proptest::prelude::Just(b'x'), 1 => proptest::prelude::Just(b'\n')], 0..200),
            from in 0usize..220,
            len in 0usize..220,
        ) {
            let to = from + len;
            let start = line_start_at(&buf, from.min(buf.len()));
            let end = line_start_at(&buf, to.min(buf.len())).max(start);
            let want = buf.get(start..end).unwrap_or_default();
            proptest::prop_assert_eq!(lines_starting_in(&buf, from, to), want);
        }
    }

    #[test]
    fn split_keeps_every_byte_and_ends_on_newlines() {
        let buf = b"aaaa\nbb\ncccccc\nd\n\neee";
        for target in 1..30 {
            let parts = split_on_lines(buf, target);
            assert_eq!(parts.concat(), buf.to_vec(), "target {target}");
            for p in &parts[..parts.len() - 1] {
                assert_eq!(p.last(), Some(&b'\n'));
            }
        }
        assert!(split_on_lines(b"", 10).is_empty());
    }
}
