//! What `analyze` and `diagnose` share: a reader for the inputs, the stream-or-not decision,
//! `--last` over a stream, and the run's read summary.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use auditframe::copies::CategoryCopies;
use auditframe::source::{Progress, ReadReport};
use auditframe::{AuditFrame, Projection, TimeSpan, TimeWindow};

use crate::args::InputArgs;
use crate::clusters::ClusterTally;
use crate::inputs::{self, Embedded, Source};
use crate::{Res, UsageError};

/// Inputs larger than this are streamed unless `--in-memory` is given.
const STREAM_ABOVE_BYTES: u64 = 2 << 30;

/// How far behind the newest time a stream remembers requests to find their copy in the
/// other audit category: both copies carry the same time and, in a storage tree read hour by
/// hour, sit in blobs of the same hour.
const COPY_HORIZON: TimeSpan = TimeSpan::from_nanos(2 * 3_600 * 1_000_000_000);

/// A configured read of the run's inputs.
pub(crate) struct Run {
    pub reader: Box<dyn Source>,
    /// What is read: `json` (NDJSON / JSON shapes) or `parquet`.
    pub format: &'static str,
    pub paths: Vec<PathBuf>,
    pub stream: bool,
    /// No paths were given: the embedded sample is read.
    embedded: bool,
    /// `--cluster`: keep only these clusters' rows.
    clusters: Vec<String>,
    /// Files of a storage tree never opened: their partition hour lies outside the window.
    pruned_files: usize,
    /// `--last` over a storage tree: the newest time, read while pruning.
    newest: Option<Option<i64>>,
    /// Drops the second copy of requests exported under both audit categories (`None` with
    /// `--keep-copies`).
    copies: Option<RefCell<CategoryCopies>>,
    tty: bool,
    started: Instant,
}

/// What was read, for the renderers.
pub(crate) struct Summary {
    pub report: ReadReport,
    /// Earliest and latest `time_generated` read.
    pub time_range: Option<(i64, i64)>,
    /// Frames analysed (1 in memory mode).
    pub frames: usize,
    /// Reading alone (in stream mode reading and analysing interleave: the whole run).
    pub read_time: Duration,
    /// Files skipped by their partition hour (see [`auditframe::storage`]).
    pub pruned_files: usize,
    /// Copies of requests exported under both audit categories, dropped.
    pub copies_dropped: u64,
    /// Only `kube-audit-admin` rows were read: no get/list/watch requests.
    pub admin_only: bool,
    /// Rows and files read per cluster.
    pub clusters: ClusterTally,
}

impl Run {
    /// A reader of `input` building `projection`; `window` lets Parquet skip row groups.
    pub(crate) fn new(input: &InputArgs, projection: Projection, window: TimeWindow) -> Res<Run> {
        let started = Instant::now();
        let tty = std::io::stderr().is_terminal();
        // The summary counts rows per cluster and `--cluster` filters on the column: read it
        // whatever the analyses need.
        let projection = projection.with(auditframe::Column::Cluster);
        // Copies need audit categories: native logs (sniffed from each file's start) have
        // none, so they are not asked to parse the key columns.
        let parquet = inputs::paths_are_parquet(&input.paths)?;
        // Salvaged rows are counted from this column in canonical Parquet; JSON readers count
        // them as they parse (a flag per row, built into a column, for nothing).
        let projection = match parquet {
            true => projection.with(auditframe::Column::Truncated),
            false => projection,
        };
        // The inputs' files, walked once here (stdin and the embedded sample stay as given).
        let stdin = input.paths.iter().any(|p| p.as_os_str() == "-");
        let files = if input.paths.is_empty() || stdin {
            input.paths.clone()
        } else {
            expand(&input.paths, parquet)?
        };
        let drop_copies = !input.keep_copies && may_hold_categories(&files, parquet);
        // JSON readers keep audit IDs as compact keys beside the frame (a tenth of an AKSAudit
        // read's memory and ~8 % of its CPU less than the string column); Parquet reads the
        // column.
        let copy_keys = drop_copies && !parquet;
        let projection = match (drop_copies, copy_keys) {
            (false, _) => projection,
            (true, false) => auditframe::copies::with_copy_key_columns(projection),
            (true, true) => auditframe::copies::with_copy_key_columns_for_keys(projection),
        };
        // One progress line for every reader: rewritten in place on a terminal.
        let progress = Arc::new(move |p: &Progress<'_>| {
            let mut line = format!("\r\x1b[Kreading {}: {} rows", p.input, p.rows);
            if let Some(b) = p.bytes {
                let secs = started.elapsed().as_secs_f64().max(1e-9);
                line.push_str(&format!(
                    ", {:.0} MB, {:.0} MB/s",
                    b as f64 / 1e6,
                    b as f64 / 1e6 / secs
                ));
            }
            if let Some((done, total)) = p.row_groups {
                line.push_str(&format!(", row group {done} of {total}"));
            }
            eprint!("{line}");
        });
        let (paths, pruned_files) = prune(files, &window, &input.clusters)?;
        let reader: Box<dyn Source> = if parquet {
            let mut r = auditframe_parquet::ReaderBuilder::new()
                .projection(projection)
                .strict(input.strict);
            // A fixed window lets the reader skip row groups by their statistics.
            if let TimeWindow::Between { start, end } = window {
                r = r.time_window(start, end);
            }
            if tty {
                r = r.progress(progress);
            }
            Box::new(r)
        } else {
            let mut r = auditframe_ndjson::ReaderBuilder::new()
                .projection(projection)
                .strict(input.strict)
                .reject_truncated(input.reject_truncated)
                .cluster_label(match input.clusters.as_slice() {
                    // One `--cluster` names the cluster of native logs too.
                    [one] => Some(one.as_str()),
                    _ => None,
                })
                .shape(input.shape)
                .copy_keys(copy_keys);
            if tty {
                r = r.progress(progress);
            }
            if input.paths.is_empty() {
                Box::new(Embedded(r))
            } else {
                Box::new(r)
            }
        };
        let stream = should_stream(input, &window);
        let copies = drop_copies.then(|| {
            RefCell::new(if stream {
                CategoryCopies::bounded(COPY_HORIZON)
            } else {
                CategoryCopies::new()
            })
        });
        let mut run = Run {
            format: if parquet { "parquet" } else { "json" },
            stream,
            reader,
            paths,
            embedded: input.paths.is_empty(),
            clusters: input.clusters.clone(),
            pruned_files,
            newest: None,
            copies,
            tty,
            started,
        };
        if let TimeWindow::Last(_) = window {
            run.prune_for_last(window)?;
        }
        if run.stream && run.copies.is_some() {
            in_hour_order(&mut run.paths);
        }
        Ok(run)
    }

    /// `--last` over a storage tree: the newest time is read (time column only) from the
    /// files of the newest hour that has rows and from every file whose path names no hour
    /// — an older hour cannot hold a newer time — and the files of hours wholly before the
    /// window are then left out. Without partitioned files (or with stdin) nothing changes.
    fn prune_for_last(&mut self, window: TimeWindow) -> Res {
        if self.embedded || self.paths.iter().any(|p| p.as_os_str() == "-") {
            return Ok(());
        }
        let files = self.paths.clone();
        let hour_of = |f: &PathBuf| auditframe::storage::partition_hour(f);
        if !files.iter().any(|f| hour_of(f).is_some()) {
            return Ok(());
        }
        let (mut hours, plain): (Vec<PathBuf>, Vec<PathBuf>) =
            files.iter().cloned().partition(|f| hour_of(f).is_some());
        let mut newest = self.newest_time(&plain)?;
        hours.sort_by_key(|f| std::cmp::Reverse(hour_of(f)));
        for group in hours.chunk_by(|a, b| hour_of(a) == hour_of(b)) {
            let end = group.first().and_then(hour_of).map_or(i64::MIN, |(_, e)| e);
            if newest.is_some_and(|n| n >= end) {
                break;
            }
            if let Some(t) = self.newest_time(group)? {
                newest = newest.max(Some(t));
                break;
            }
        }
        self.newest = Some(newest);
        if let Some((start, end)) = window.bounds(newest) {
            let (kept, pruned) = auditframe::storage::prune_to_window(files, start, end);
            self.paths = kept;
            self.pruned_files += pruned;
        }
        Ok(())
    }

    /// The newest `time_generated` of `files` (time column only).
    fn newest_time(&self, files: &[PathBuf]) -> Res<Option<i64>> {
        let mut newest: Option<i64> = None;
        if files.is_empty() {
            return Ok(None);
        }
        self.reader
            .with_projection(Projection::of(&[auditframe::Column::TimeGenerated]))
            .for_each_frame(files, &mut |f, _| {
                newest = newest.max(f.time_range().map(|(_, b)| b));
                Ok(())
            })?;
        Ok(newest)
    }

    /// The frame's rows of the `--cluster` clusters (all rows without the option), without
    /// the second copies of requests exported under both audit categories.
    fn select(&self, frame: &AuditFrame) -> auditframe::Result<AuditFrame> {
        let frame = match &self.copies {
            // One frame of the whole input: a single-category export costs nothing.
            Some(c) if !self.stream => {
                let (frame, copies) = CategoryCopies::drop_copies_in_whole(frame)?;
                *c.borrow_mut() = copies;
                frame
            }
            Some(c) => c.borrow_mut().drop_copies(frame)?,
            None => frame.clone(),
        };
        if self.clusters.is_empty() {
            Ok(frame)
        } else {
            frame.filter_clusters(&self.clusters)
        }
    }

    /// (copies dropped, admin category only) so far.
    fn copies_seen(&self) -> (u64, bool) {
        self.copies.as_ref().map_or((0, false), |c| {
            let c = c.borrow();
            (c.dropped(), c.admin_only())
        })
    }

    /// Time since the run started.
    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Reads everything into one frame.
    pub(crate) fn read(&self) -> Res<(AuditFrame, Summary)> {
        let (frame, report) = self.reader.read(&self.paths)?;
        let mut clusters = ClusterTally::default();
        let per_file: Vec<u64> = report.inputs.iter().map(|i| i.rows).collect();
        if per_file.iter().sum::<u64>() == frame.height() as u64 {
            clusters.add_files(&frame, &per_file)?;
        } else {
            clusters.add_files(&frame, &[frame.height() as u64])?;
        }
        let frame = self.select(&frame)?;
        self.clear_progress();
        let (copies_dropped, admin_only) = self.copies_seen();
        let summary = Summary {
            report,
            time_range: frame.time_range(),
            frames: 1,
            read_time: self.elapsed(),
            pruned_files: self.pruned_files,
            copies_dropped,
            admin_only,
            clusters,
        };
        Ok((frame, summary))
    }

    /// Streams the inputs: each block's frame goes to `each` (which folds it into a partial
    /// aggregate) and is dropped.
    pub(crate) fn stream(
        &self,
        each: &mut dyn FnMut(&AuditFrame) -> auditframe::Result<()>,
    ) -> Res<Summary> {
        let mut range: Option<(i64, i64)> = None;
        let mut frames = 0;
        let mut clusters = ClusterTally::default();
        let mut report = ReadReport::default();
        // File by file, so that the cluster summary knows which files held each cluster.
        for files in self.one_file_at_a_time()? {
            report.merge(self.reader.for_each_frame(&files, &mut |frame, _| {
                frames += 1;
                if let Some((a, b)) = frame.time_range() {
                    range = Some(range.map_or((a, b), |(x, y)| (x.min(a), y.max(b))));
                }
                clusters.add(&frame, 0, frame.height())?;
                each(&self.select(&frame)?)
            })?);
            clusters.end_file();
        }
        self.clear_progress();
        let (copies_dropped, admin_only) = self.copies_seen();
        Ok(Summary {
            report,
            time_range: range,
            frames,
            read_time: self.elapsed(),
            pruned_files: self.pruned_files,
            copies_dropped,
            admin_only,
            clusters,
        })
    }

    /// The inputs as one read per file (stdin and the embedded sample: one read).
    fn one_file_at_a_time(&self) -> Res<Vec<Vec<PathBuf>>> {
        if self.embedded || self.paths.iter().any(|p| p.as_os_str() == "-") {
            return Ok(vec![self.paths.clone()]);
        }
        Ok(self.paths.iter().map(|f| vec![f.clone()]).collect())
    }

    /// `--last` over a stream needs the newest time first: a pre-pass reads only
    /// `time_generated`, and the window becomes a fixed one.
    pub(crate) fn resolve_last(&self, window: TimeWindow) -> Res<TimeWindow> {
        let TimeWindow::Last(_) = window else {
            return Ok(window);
        };
        // A pre-pass would consume a pipe's bytes (stdin, a FIFO, `<(zcat …)`).
        let pipe = |p: &PathBuf| {
            p.as_os_str() == "-" || !std::fs::metadata(p).is_ok_and(|m| m.is_file() || m.is_dir())
        };
        if self.paths.iter().any(pipe) {
            return Err(UsageError("--last cannot stream stdin or a pipe (it needs the newest time first): use --since/--until or --in-memory".into()).into());
        }
        if self.embedded {
            return Err(UsageError(
                "--last --stream needs paths (the embedded sample is small: drop --stream)".into(),
            )
            .into());
        }
        // Already read by `prune_for_last` for a storage tree.
        let newest = match self.newest {
            Some(n) => n,
            None => self.newest_time(&self.paths)?,
        };
        let (start, end) = window.bounds(newest).unwrap_or((i64::MIN, i64::MIN));
        Ok(TimeWindow::Between { start, end })
    }

    fn clear_progress(&self) {
        if self.tty {
            eprint!("\r\x1b[K");
        }
    }
}

/// The files to read: with a fixed window or `--cluster`, the files of a storage tree whose
/// partition hour lies outside the window, or whose path names another cluster, are left out
/// (never opened).
fn prune(
    files: Vec<PathBuf>,
    window: &TimeWindow,
    clusters: &[String],
) -> Res<(Vec<PathBuf>, usize)> {
    let before = files.len();
    let wanted: Vec<String> = clusters.iter().map(|c| c.to_ascii_lowercase()).collect();
    let files: Vec<PathBuf> = files
        .into_iter()
        .filter(|f| {
            wanted.is_empty()
                || auditframe::storage::cluster_of_path(f).is_none_or(|c| wanted.contains(&c))
        })
        .collect();
    let other_clusters = before - files.len();
    let (kept, pruned) = match *window {
        TimeWindow::Between { start, end } => {
            auditframe::storage::prune_to_window(files, start, end)
        }
        _ => (files, 0),
    };
    let pruned = pruned + other_clusters;
    if kept.is_empty() && pruned > 0 {
        return Err(UsageError(format!(
            "no input file's partition hour overlaps the window and names a wanted cluster ({pruned} pruned)"
        ))
        .into());
    }
    Ok((kept, pruned))
}

/// The files `paths` stand for (directories walked; `-` kept).
fn expand(paths: &[PathBuf], parquet: bool) -> Res<Vec<PathBuf>> {
    let extensions = if parquet {
        auditframe::source::PARQUET_EXTENSIONS
    } else {
        auditframe::source::JSON_EXTENSIONS
    };
    let mut files = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            files.push(p.clone());
        } else {
            files.extend(auditframe::source::walk(p, extensions)?);
        }
    }
    Ok(files)
}

/// Orders the files by their storage partition hour (files naming no hour first, in path
/// order): a stream then meets the two audit categories' blobs of one hour together. Without
/// partitioned files the order is kept.
fn in_hour_order(files: &mut [PathBuf]) {
    files.sort_by_key(|f| auditframe::storage::partition_hour(f).map(|(start, _)| start));
}

/// Whether the inputs may hold the same request under both audit categories (Parquet and
/// the embedded sample: may; JSON files: [`auditframe_ndjson::may_hold_categories`]).
fn may_hold_categories(files: &[PathBuf], parquet: bool) -> bool {
    parquet || auditframe_ndjson::may_hold_categories(files)
}

/// Whether to stream: by flag, or by the inputs' (estimated uncompressed) size.
fn should_stream(input: &InputArgs, window: &TimeWindow) -> bool {
    if input.stream {
        return true;
    }
    if input.in_memory || input.paths.is_empty() {
        return false;
    }
    let mut total = 0u64;
    for p in &input.paths {
        if p.as_os_str() == "-" {
            // stdin: unknown size; stream unless `--last` needs to see it all first.
            return !matches!(window, TimeWindow::Last(_));
        }
        total = total.saturating_add(inputs::estimated_bytes(p));
    }
    total > STREAM_ABOVE_BYTES
}
