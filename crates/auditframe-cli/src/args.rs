//! The command line: one subcommand per task, flags grouped under headings.

use std::path::PathBuf;

use auditframe::diagnose::ListReadRules;
use auditframe::Shape;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Kubernetes API-server audit-log analytics, offline and exact: the AKS troubleshooting
/// guide's queries and causes on exported logs (native audit logs, AKSAudit and
/// AzureDiagnostics rows, storage archives, Event Hubs captures, Parquet).
///
/// Exit status: 0 on success; 1 when an input cannot be read or (with --strict) holds a bad
/// record; 2 on a usage error (unknown flag, bad value).
#[derive(Parser, Debug)]
#[command(
    name = "auditframe",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = "Examples:
  auditframe analyze                                  the embedded sample
  auditframe analyze export/ audit.log.gz             files, .gz, directories (- for stdin)
  auditframe analyze --by user --last 1h --format json export/
  auditframe analyze --agent 'bad-client/0.1.0 (linux/amd64) list-all-pods' export/
  auditframe diagnose --since 2026-11-20T10:00:00Z export/
  auditframe convert export/ -o audit.parquet && auditframe analyze audit.parquet
  auditframe inspect export/"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// The guide's three queries: top clients by requests, average latency per client in
    /// time bins, latency percentiles per verb and resource.
    Analyze(AnalyzeArgs),
    /// The guide's causes: LISTs from etcd vs the watch cache, throttling and the API server
    /// guard, object growth, admission webhook failures, SLO verdicts.
    Diagnose(DiagnoseArgs),
    /// Convert exports to canonical Parquet (a frame at a time, bounded memory).
    Convert(ConvertArgs),
    /// Write seeded, realistic audit logs in any export shape.
    Generate(GenerateArgs),
    /// What inputs are: per file its shape, size, rows, skipped records and time range.
    Inspect(InspectArgs),
    /// Print a shell completion script (e.g. `auditframe completions bash > ~/.local/share/bash-completion/completions/auditframe`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `--shape`: a shape name as in the `source_shape` column, `-` or `_` alike.
fn parse_shape(s: &str) -> Result<Shape, String> {
    Shape::from_name(&s.replace('-', "_")).ok_or_else(|| {
        let names: Vec<&str> = Shape::ALL.iter().map(|s| s.name()).collect();
        format!("unknown shape {s:?}; one of {}", names.join(", "))
    })
}

fn parse_rules(s: &str) -> Result<ListReadRules, String> {
    ListReadRules::from_name(s)
        .ok_or_else(|| format!("unknown rules {s:?}; before-1.31 or since-1.31"))
}

/// Where the records come from and how bad ones are handled.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Input")]
pub(crate) struct InputArgs {
    /// Files (.gz too), directories (read recursively, hidden entries skipped), `-` for
    /// stdin; or Parquet files / directories of them. Without any, the embedded sample (one
    /// hour of AKSAudit rows telling an incident story) is read.
    pub paths: Vec<PathBuf>,
    /// Fail on the first bad record (exit status 1) instead of skipping and counting it.
    #[arg(long)]
    pub strict: bool,
    /// Treat an event whose text was cut short (storage exports cut `properties.log` at 16
    /// KiB) as a bad record instead of salvaging its complete fields into a row marked
    /// `truncated`. JSON inputs.
    #[arg(long)]
    pub reject_truncated: bool,
    /// Force the input shape instead of sniffing it: native, event_list, aks_audit,
    /// azure_diagnostics, archive, event_hub.
    #[arg(long, value_parser = parse_shape)]
    pub shape: Option<Shape>,
    /// Stream: a frame per 64 MiB block (per ~1M rows for Parquet), merged partial
    /// aggregates, bounded memory. Chosen automatically for inputs over 2 GiB (gzip and
    /// Parquet counted at 10× their size) and for stdin.
    #[arg(long, conflicts_with = "in_memory")]
    pub stream: bool,
    /// Build one frame of the whole input, whatever its size.
    #[arg(long)]
    pub in_memory: bool,
    /// Only rows of this managed cluster (the `cluster` column, from the records' Azure
    /// resource IDs; case-insensitive). Repeatable. Given once, it also names the cluster of
    /// records that name none (native kube-apiserver logs).
    #[arg(long = "cluster", value_name = "NAME")]
    pub clusters: Vec<String>,
    /// Count a request exported under both `kube-audit` and `kube-audit-admin` (or in both
    /// `AKSAudit` and `AKSAuditAdmin`) twice. By default the second copy (same audit ID and
    /// stage, other category) is dropped and counted, as the guide's KQL counts it once.
    #[arg(long)]
    pub keep_copies: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum By {
    /// `UserAgent` (the guide's AKSAudit queries).
    UserAgent,
    /// `user.username` (the guide's AzureDiagnostics queries).
    User,
    /// The managed cluster, from the records' Azure resource IDs (fleet exports).
    Cluster,
}

/// Grouping, bins and the time window.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Grouping and window")]
pub(crate) struct GroupArgs {
    /// Group by user agent, by username or by cluster.
    #[arg(long, value_enum, default_value = "user-agent")]
    pub by: By,
    /// How many keys the top lists show.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Bin width of time series (KQL `bin(start_time, 5m)`): 30s, 5m, 1h, 1d.
    #[arg(long, default_value = "5m")]
    pub bin: String,
    /// Only the last duration up to the newest event (e.g. 1h).
    #[arg(long, conflicts_with_all = ["since", "until"])]
    pub last: Option<String>,
    /// Window start, RFC 3339, inclusive.
    #[arg(long)]
    pub since: Option<String>,
    /// Window end, RFC 3339, inclusive.
    #[arg(long)]
    pub until: Option<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum Format {
    /// Tables for a person.
    Table,
    /// One JSON object (a stable contract; see the README).
    Json,
    /// One table as CSV (pick it with --table).
    Csv,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum StageArg {
    /// Every event row, like the guide's queries.
    All,
    /// Only `ResponseComplete` rows, so that multi-stage requests count once.
    Complete,
}

/// The tables of `analyze` (for `--format csv`).
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum AnalysisTable {
    /// Top N keys by requests.
    Top,
    /// Average latency per key and bin.
    Latency,
    /// Percentiles per key, verb and resource.
    P99,
}

/// `auditframe analyze`.
#[derive(Args, Debug)]
pub(crate) struct AnalyzeArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub group: GroupArgs,
    /// Percentiles only for this key (the guide's `where UserAgent == "…"`).
    #[arg(long, help_heading = "Analyses")]
    pub agent: Option<String>,
    /// Percentiles to compute (repeatable); P99 is always included.
    #[arg(long = "percentile", default_value = "99", help_heading = "Analyses")]
    pub percentiles: Vec<f64>,
    /// Which stages count.
    #[arg(long, value_enum, default_value = "all", help_heading = "Analyses")]
    pub stage: StageArg,
    /// Leave watch / exec / attach / portforward / proxy out of latency figures.
    #[arg(long, help_heading = "Analyses")]
    pub exclude_long_running: bool,
    /// Percentiles from bounded-memory sketches with this relative error (e.g. 0.01) instead
    /// of exact values: for inputs whose latencies do not fit in memory.
    #[arg(long, value_name = "ALPHA", help_heading = "Analyses")]
    pub approx_percentiles: Option<f64>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table", help_heading = "Output")]
    pub format: Format,
    /// Which table `--format csv` prints.
    #[arg(long, value_enum, default_value = "top", help_heading = "Output")]
    pub table: AnalysisTable,
    /// Also write an SVG timechart of the latency series (top-N keys) to this file.
    #[arg(long, value_name = "FILE.svg", help_heading = "Output")]
    pub chart: Option<PathBuf>,
    #[command(flatten)]
    pub compare: CompareArgs,
}

/// A second side to compare with: another window, or another cluster.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Compare (what changed)")]
pub(crate) struct CompareArgs {
    /// Compare with a second window starting at this time (RFC 3339): requests, average
    /// latency and P99 per key for both windows, with deltas ranked by change.
    #[arg(long, value_name = "TIME")]
    pub compare_since: Option<String>,
    /// The second window's end (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub compare_until: Option<String>,
    /// Compare the `--cluster` rows (first side) with this cluster's rows, in the same window.
    #[arg(long, value_name = "NAME", requires = "clusters", conflicts_with_all = ["compare_since", "compare_until"])]
    pub compare_cluster: Option<String>,
}

impl CompareArgs {
    /// Whether a comparison was asked for.
    pub(crate) fn any(&self) -> bool {
        self.compare_since.is_some()
            || self.compare_until.is_some()
            || self.compare_cluster.is_some()
    }
}

/// The tables of `diagnose` (for `--format csv`).
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum DiagnosisTable {
    /// LISTs by read type and scope.
    ListClasses,
    /// The clients whose LISTs read etcd.
    ListOffenders,
    /// Throttled (429) requests per key.
    Throttled,
    /// Throttled requests per key and bin.
    ThrottledSeries,
    /// Requests rejected by the AKS API server guard.
    Guard,
    /// Object growth per resource.
    Growth,
    /// Net creations per resource and bin.
    GrowthSeries,
    /// Failing admission webhooks.
    Webhooks,
    /// Webhook failures per bin.
    WebhookSeries,
    /// SLO violations.
    Slo,
    /// The ranked findings.
    Findings,
    /// Slow-request latency by component per (key, verb, resource).
    Attribution,
    /// Slow-request latency by component per bin.
    AttributionSeries,
    /// Watches per key and resource.
    Watches,
    /// Keys by watch-seconds, with their request rank.
    WatchLoad,
    /// Peak concurrent watches per key, resource and bin.
    WatchSeries,
}

/// `auditframe diagnose`.
#[derive(Args, Debug)]
pub(crate) struct DiagnoseArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub group: GroupArgs,
    /// LIST read-type rules of the apiserver version: before-1.31 or since-1.31.
    #[arg(long, value_parser = parse_rules, default_value = "since-1.31", help_heading = "Diagnoses")]
    pub list_rules: ListReadRules,
    /// Resources served without a watch cache, whose LISTs always read etcd (comma-separated;
    /// upstream kube-apiserver disables it for events; `''` for none).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "events",
        help_heading = "Diagnoses"
    )]
    pub uncached_resources: Vec<String>,
    /// Objects per type that count as too many (the guide's 10 000).
    #[arg(long, default_value_t = 10_000, help_heading = "Diagnoses")]
    pub growth_threshold: i64,
    /// How far object growth is extrapolated when flagging.
    #[arg(long, default_value = "24h", help_heading = "Diagnoses")]
    pub growth_horizon: String,
    /// SLO threshold (P99): mutating calls.
    #[arg(long, default_value = "1s", help_heading = "Diagnoses")]
    pub slo_mutating: String,
    /// SLO threshold: read-only single-object calls.
    #[arg(long, default_value = "1s", help_heading = "Diagnoses")]
    pub slo_read_object: String,
    /// SLO threshold: read-only namespace-scope LISTs.
    #[arg(long, default_value = "5s", help_heading = "Diagnoses")]
    pub slo_read_namespace: String,
    /// SLO threshold: read-only cluster-scope LISTs.
    #[arg(long, default_value = "30s", help_heading = "Diagnoses")]
    pub slo_read_cluster: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "table", help_heading = "Output")]
    pub format: Format,
    /// Which table `--format csv` prints.
    #[arg(long, value_enum, default_value = "slo", help_heading = "Output")]
    pub table: DiagnosisTable,
}

/// Which columns `convert` keeps.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum Columns {
    /// Every canonical column.
    All,
    /// Only what the guide's three queries read (smallest, fastest file).
    Analyses,
    /// What `analyze` and `diagnose` read.
    Diagnostics,
}

/// `auditframe convert`.
#[derive(Args, Debug)]
pub(crate) struct ConvertArgs {
    /// Inputs: files (.gz too), directories (read recursively), `-` for stdin.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The Parquet file to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Which columns to keep.
    #[arg(long, value_enum, default_value = "all")]
    pub columns: Columns,
    /// Rows per row group.
    #[arg(long, default_value_t = auditframe_parquet::DEFAULT_ROW_GROUP_ROWS)]
    pub row_group_rows: usize,
    /// zstd level (1–22).
    #[arg(long, default_value_t = auditframe_parquet::DEFAULT_ZSTD_LEVEL)]
    pub zstd_level: i32,
    /// Fail on the first bad record (exit status 1) instead of skipping and counting it.
    #[arg(long)]
    pub strict: bool,
    /// Treat an event whose text was cut short as a bad record instead of a salvaged row.
    #[arg(long)]
    pub reject_truncated: bool,
    /// Force the input shape instead of sniffing it.
    #[arg(long, value_parser = parse_shape)]
    pub shape: Option<Shape>,
}

/// The shapes `generate` writes.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub(crate) enum OutShape {
    /// audit.k8s.io `Event` lines (kube-apiserver's log backend).
    Native,
    /// One `EventList` document (the webhook backend's batches).
    EventList,
    /// AKSAudit rows, dynamic columns as objects.
    AksAudit,
    /// AKSAudit rows whose dynamic columns are JSON-encoded strings (query API / CLI).
    AksAuditStrings,
    /// AzureDiagnostics rows, the event as JSON text in `log_s`.
    AzureDiagnostics,
    /// Storage-account archive records (`properties.log`).
    Archive,
    /// Event Hubs `{"records":[…]}` messages.
    EventHub,
    /// A top-level JSON array of AKSAudit rows (portal / query export).
    JsonArray,
}

/// `auditframe generate`.
#[derive(Args, Debug)]
pub(crate) struct GenerateArgs {
    /// Number of audit events.
    #[arg(long, default_value_t = 100_000)]
    pub events: usize,
    /// Output shape.
    #[arg(long, value_enum, default_value = "native")]
    pub shape: OutShape,
    /// RNG seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Hours of traffic the events span.
    #[arg(long, default_value_t = 2.0)]
    pub hours: f64,
    /// Gzip the output.
    #[arg(long)]
    pub gzip: bool,
    /// Tell the incident story: an etcd-paging bad client, a failing webhook with
    /// kube-apiserver log lines, the API server guard and a 429 burst, a CronJob leaking Jobs.
    #[arg(long)]
    pub story: bool,
    /// Output file (stdout if absent).
    #[arg(short, long, conflicts_with = "storage_tree")]
    pub output: Option<PathBuf>,
    /// Write a storage-account export instead: one `PT1H.json` blob per category, cluster and
    /// hour under this directory (`insights-logs-kube-audit/resourceId=/…/MANAGEDCLUSTERS/
    /// AKS-FLEET-00/y=…/m=…/d=…/h=…/m=00/PT1H.json`), `--events` per cluster, large request
    /// bodies cut at 16 KiB as real exports cut them.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["gzip", "shape"], help_heading = "Storage tree")]
    pub storage_tree: Option<PathBuf>,
    /// Clusters in the storage tree.
    #[arg(
        long,
        default_value_t = 3,
        requires = "storage_tree",
        help_heading = "Storage tree"
    )]
    pub clusters: usize,
    /// Also write every non-read request under `kube-audit-admin` (both categories exported).
    #[arg(long, requires = "storage_tree", help_heading = "Storage tree")]
    pub admin_copies: bool,
    /// About one write in N carries a 20–48 KiB request body (0: none).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 200,
        requires = "storage_tree",
        help_heading = "Storage tree"
    )]
    pub large_body_every: u64,
}

/// `auditframe inspect`.
#[derive(Args, Debug)]
pub(crate) struct InspectArgs {
    /// Files (.gz too), directories, `-` for stdin, Parquet files; without any, the embedded
    /// sample.
    pub paths: Vec<PathBuf>,
    /// Fail on the first bad record (exit status 1) instead of skipping and counting it.
    #[arg(long)]
    pub strict: bool,
    /// Force the input shape instead of sniffing it.
    #[arg(long, value_parser = parse_shape)]
    pub shape: Option<Shape>,
    /// Output format (`csv` prints the per-input table).
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}
