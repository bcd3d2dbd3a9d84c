//! A deterministic, seeded generator of realistic audit events in every supported shape,
//! for benchmarks, examples and tests (always built: it has no dependencies of its own).
//!
//! Distributions follow a busy AKS cluster: a power law of requests per agent (a few heavy
//! controllers, kubelets, a long tail), a "bad client" listing pods cluster-wide from etcd
//! with multi-second latencies, watches lasting minutes (`ResponseStarted` +
//! `ResponseComplete`), 429 bursts, non-resource URLs, empty and escaped user agents, and
//! latency long tails. Native events are ~0.8–1.2 KB like real logs.
//!
//! ```
//! use auditframe::generate::{Generator, GeneratorOptions};
//! use auditframe::Shape;
//! let mut out = Vec::new();
//! Generator::new(GeneratorOptions::default().with_events(100).with_seed(7))
//!     .write(Shape::Native, &mut out);
//! assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 100);
//! ```

use crate::timestamp::{NANOS_PER_MILLI, NANOS_PER_SECOND};
use crate::Shape;

pub mod storage_tree;
pub mod story;
mod write;

use write::write_event;
pub use write::{
    push_json_str, push_timestamp, write_aks, write_archive, write_azure_diagnostics, write_native,
};

/// SplitMix64: tiny, fast, and stable across platforms and releases (unlike `rand`'s
/// default generators), so a seed always yields the same file.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A log-normal-ish positive value with the given median and spread (sigma).
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        // Box–Muller.
        let u1 = self.unit().max(1e-12);
        let u2 = self.unit();
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        median * (sigma * z).exp()
    }
}

/// Generator settings.
#[derive(Debug, Clone)]
pub struct GeneratorOptions {
    /// Number of audit events (rows) to produce.
    pub(crate) events: usize,
    /// RNG seed.
    pub(crate) seed: u64,
    /// First request time, ns since the epoch (default 2026-11-20T10:00:00Z).
    pub(crate) start_ns: i64,
    /// Time span the events cover, ns (default 2 hours).
    pub(crate) span_ns: i64,
    /// Event Hub messages hold this many records each.
    pub(crate) records_per_message: usize,
    /// Tell the story of an incident on top of the regular traffic (see [`story`]): a bad
    /// client listing pods from etcd, a failing admission webhook, the AKS API server guard
    /// and the 429 burst after it, and a CronJob leaking Jobs; with kube-apiserver log lines
    /// in the shapes that carry them.
    pub(crate) story: bool,
}

impl Default for GeneratorOptions {
    fn default() -> Self {
        GeneratorOptions {
            events: 1000,
            seed: 42,
            start_ns: 1_795_168_800 * NANOS_PER_SECOND,
            span_ns: 2 * 3600 * NANOS_PER_SECOND,
            records_per_message: 20,
            story: false,
        }
    }
}

impl GeneratorOptions {
    /// The number of audit events (rows) produced.
    pub fn events(&self) -> usize {
        self.events
    }

    /// Sets the number of audit events (rows) produced.
    #[must_use]
    pub fn with_events(mut self, n: usize) -> Self {
        self.events = n;
        self
    }

    /// The RNG seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Sets the RNG seed.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The first request time, ns since the epoch (default 2026-11-20T10:00:00Z).
    pub fn start_ns(&self) -> i64 {
        self.start_ns
    }

    /// Sets the first request time, ns since the epoch (default 2026-11-20T10:00:00Z).
    #[must_use]
    pub fn with_start(mut self, start_ns: i64) -> Self {
        self.start_ns = start_ns;
        self
    }

    /// The time span the events cover, ns (default 2 hours).
    pub fn span_ns(&self) -> i64 {
        self.span_ns
    }

    /// Sets the time span the events cover, ns (default 2 hours).
    #[must_use]
    pub fn with_span(mut self, span_ns: i64) -> Self {
        self.span_ns = span_ns;
        self
    }

    /// How many records each Event Hubs message holds.
    pub fn records_per_message(&self) -> usize {
        self.records_per_message
    }

    /// Sets how many records each Event Hubs message holds.
    #[must_use]
    pub fn with_records_per_message(mut self, n: usize) -> Self {
        self.records_per_message = n;
        self
    }

    /// Whether the incident story is told on top of the regular traffic (see [`story`]).
    pub fn story(&self) -> bool {
        self.story
    }

    /// Sets whether the incident story is told on top of the regular traffic (see [`story`]).
    #[must_use]
    pub fn with_story(mut self, story: bool) -> Self {
        self.story = story;
        self
    }
}

/// One generated event (the fields every shape serialises).
#[derive(Debug, Clone)]
pub struct GenEvent {
    /// `auditID`.
    pub audit_id: String,
    /// Stage.
    pub stage: &'static str,
    /// Verb.
    pub verb: &'static str,
    /// Request URI.
    pub request_uri: String,
    /// User agent; `None` = absent.
    pub user_agent: Option<String>,
    /// Username.
    pub username: String,
    /// Groups.
    pub groups: &'static [&'static str],
    /// Source IP.
    pub source_ip: String,
    /// `objectRef` fields: resource, subresource, namespace, name, apiGroup, apiVersion.
    pub object_ref: Option<ObjectRef>,
    /// Status code.
    pub code: i32,
    /// Request received, ns.
    pub received_ns: i64,
    /// Stage timestamp, ns.
    pub stage_ns: i64,
    /// Annotations beyond the authorization decision (admission webhooks).
    pub annotations: Vec<(String, String)>,
    /// Where the request spent its time, for the `apiserver.latency.k8s.io/*` annotations
    /// written when it took over 500 ms.
    pub slow_part: SlowPart,
}

/// The component that dominates a slow generated request's latency annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SlowPart {
    /// The storage layer (`etcd`), with decoding, serialisation and response writing for reads.
    #[default]
    Storage,
    /// Queued by API Priority and Fairness (`apf-queue-wait`).
    ApfQueue,
    /// A mutating admission webhook (`mutating-webhook`).
    MutatingWebhook,
}

/// A generated `objectRef`.
#[derive(Debug, Clone)]
pub struct ObjectRef {
    /// Resource.
    pub resource: &'static str,
    /// Subresource.
    pub subresource: Option<&'static str>,
    /// Namespace.
    pub namespace: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// API group (`None` for the core group).
    pub api_group: Option<&'static str>,
    /// API version.
    pub api_version: &'static str,
}

struct Agent {
    user_agent: Option<&'static str>,
    username: &'static str,
    groups: &'static [&'static str],
    weight: f64,
    kind: AgentKind,
}

#[derive(Clone, Copy, PartialEq)]
enum AgentKind {
    Controller,
    Kubelet,
    Lease,
    BadClient,
    Probe,
    Tail,
}

pub(super) const SA: &[&str] = &[
    "system:serviceaccounts",
    "system:serviceaccounts:kube-system",
    "system:authenticated",
];
const NODES: &[&str] = &["system:nodes", "system:authenticated"];
const USERS: &[&str] = &["system:masters", "system:authenticated"];

fn agents() -> Vec<Agent> {
    let a = |ua, user, groups, weight, kind| Agent {
        user_agent: ua,
        username: user,
        groups,
        weight,
        kind,
    };
    vec![
        a(Some("kube-controller-manager/v1.30.4 (linux/amd64) kubernetes/2c7c2b4/system:serviceaccount:kube-system:generic-garbage-collector"), "system:serviceaccount:kube-system:generic-garbage-collector", SA, 18.0, AgentKind::Controller),
        a(Some("kubelet/v1.30.4 (linux/amd64) kubernetes/2c7c2b4"), "system:node:aks-nodepool1-12345678-vmss000000", NODES, 14.0, AgentKind::Kubelet),
        a(Some("kube-scheduler/v1.30.4 (linux/amd64) kubernetes/2c7c2b4/leader-election"), "system:kube-scheduler", SA, 9.0, AgentKind::Lease),
        a(Some("bad-client/0.1.0 (linux/amd64) list-all-pods"), "system:serviceaccount:tools:inventory", SA, 7.0, AgentKind::BadClient),
        a(Some("cluster-autoscaler/v1.30.1"), "system:serviceaccount:kube-system:cluster-autoscaler", SA, 5.0, AgentKind::Controller),
        a(Some("coredns/v1.11.1 (linux/amd64) kubernetes/abcdef"), "system:serviceaccount:kube-system:coredns", SA, 4.0, AgentKind::Controller),
        a(Some("kube-probe/1.30"), "system:anonymous", USERS, 3.0, AgentKind::Probe),
        a(Some("kubectl/v1.30.2 (linux/amd64) kubernetes/39683505"), "alice@example.com", USERS, 2.0, AgentKind::Tail),
        a(None, "system:apiserver", USERS, 1.5, AgentKind::Probe),
        a(Some("Go-http-client/1.1 \"quoted\" \\ café"), "system:serviceaccount:monitoring:scraper", SA, 1.0, AgentKind::Tail),
        a(Some(""), "system:serviceaccount:default:empty-agent", SA, 0.5, AgentKind::Tail),
    ]
}

const TAIL_AGENTS: usize = 40;
const NAMESPACES: &[&str] = &[
    "default",
    "kube-system",
    "monitoring",
    "tools",
    "app-frontend",
    "app-backend",
    "batch",
];
const RESOURCES: &[(&str, Option<&str>, &str)] = &[
    ("pods", None, "v1"),
    ("configmaps", None, "v1"),
    ("secrets", None, "v1"),
    ("endpoints", None, "v1"),
    ("events", None, "v1"),
    ("nodes", None, "v1"),
    ("services", None, "v1"),
    ("leases", Some("coordination.k8s.io"), "v1"),
    ("deployments", Some("apps"), "v1"),
    ("replicasets", Some("apps"), "v1"),
    ("jobs", Some("batch"), "v1"),
    ("cronjobs", Some("batch"), "v1"),
    ("endpointslices", Some("discovery.k8s.io"), "v1"),
];
const NON_RESOURCE: &[&str] = &[
    "/healthz",
    "/livez",
    "/readyz",
    "/metrics",
    "/api",
    "/apis",
    "/openapi/v2",
];

/// The seeded generator.
pub struct Generator {
    opts: GeneratorOptions,
    rng: Rng,
    /// A second stream for story details added later (APF queueing), so that adding them
    /// left every draw of `rng`, and so every other event, unchanged.
    story_rng: Rng,
    agents: Vec<Agent>,
    cumulative: Vec<f64>,
    tail_names: Vec<(String, String)>,
    emitted: usize,
    pending_watch_ends: Vec<GenEvent>,
    /// Story: scheduled events (by time) and log lines waiting to be written.
    scheduled: Vec<GenEvent>,
    logs: Vec<(i64, String)>,
}

impl Generator {
    /// A generator with these options.
    pub fn new(opts: GeneratorOptions) -> Generator {
        let agents = agents();
        // Power law over the long tail: agent i of the tail has weight 1/(i+1).
        let tail_names = (0..TAIL_AGENTS)
            .map(|i| {
                (
                    format!("tail-operator-{i}/v0.{i}.0 (linux/amd64)"),
                    format!("system:serviceaccount:apps:operator-{i}"),
                )
            })
            .collect::<Vec<_>>();
        let mut cumulative = Vec::new();
        let mut total = 0.0;
        for a in &agents {
            total += a.weight;
            cumulative.push(total);
        }
        for i in 0..TAIL_AGENTS {
            total += 3.0 / (i as f64 + 1.0);
            cumulative.push(total);
        }
        Generator {
            rng: Rng::new(opts.seed),
            story_rng: Rng::new(opts.seed ^ 0x5EED_A9F0_0000_0001),
            opts,
            agents,
            cumulative,
            tail_names,
            emitted: 0,
            pending_watch_ends: Vec::new(),
            scheduled: Vec::new(),
            logs: Vec::new(),
        }
        .with_story()
    }

    fn pick_agent(&mut self) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = self.rng.unit() * total;
        self.cumulative
            .partition_point(|&c| c <= x)
            .min(self.cumulative.len() - 1)
    }

    fn uuid(&mut self) -> String {
        let a = self.rng.next_u64();
        let b = self.rng.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48 & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }

    /// The next event, or `None` after `events` events.
    pub fn next_event(&mut self) -> Option<GenEvent> {
        if self.emitted >= self.opts.events {
            return None;
        }
        self.emitted += 1;
        // Emit the end of a watch whose time has come (watch ends are kept sorted by time).
        let now = self.opts.start_ns
            + (self.opts.span_ns / self.opts.events.max(1) as i64) * (self.emitted as i64);
        let now = now - now.rem_euclid(1_000);
        if let Some(pos) = self
            .pending_watch_ends
            .iter()
            .position(|w| w.stage_ns <= now)
        {
            return Some(self.pending_watch_ends.swap_remove(pos));
        }
        if self.opts.story {
            if let Some(ev) = self.story_event(now) {
                return Some(ev);
            }
        }
        // kube-apiserver timestamps have microsecond precision.
        let jitter = self.rng.below(1_000) as i64 * 1_000;
        let received = now + jitter;
        let idx = self.pick_agent();
        let (ua, user, groups, kind) = match self.agents.get(idx) {
            Some(a) => (
                a.user_agent.map(str::to_owned),
                a.username.to_owned(),
                a.groups,
                a.kind,
            ),
            None => {
                let (ua, user) = self
                    .tail_names
                    .get(idx - self.agents.len())
                    .cloned()
                    .unwrap_or_default();
                (Some(ua), user, SA, AgentKind::Tail)
            }
        };
        let node = self.rng.below(50);
        let username = if kind == AgentKind::Kubelet {
            format!("system:node:aks-nodepool1-12345678-vmss{node:06}")
        } else {
            user
        };
        let source_ip = format!("10.224.{}.{}", node / 250, 4 + node % 250);

        // Verb and resource by agent kind.
        let r = self.rng.unit();
        let (verb, non_resource) = match kind {
            AgentKind::Probe => (if r < 0.9 { "get" } else { "list" }, r < 0.9),
            AgentKind::BadClient => ("list", false),
            AgentKind::Lease => (if r < 0.5 { "get" } else { "update" }, false),
            _ => match r {
                r if r < 0.40 => ("get", false),
                r if r < 0.52 => ("list", false),
                r if r < 0.60 => ("watch", false),
                r if r < 0.75 => ("update", false),
                r if r < 0.85 => ("patch", false),
                r if r < 0.93 => ("create", false),
                r if r < 0.97 => ("delete", false),
                _ => ("get", true),
            },
        };
        let (resource, group, version) = match kind {
            AgentKind::BadClient => ("pods", None, "v1"),
            AgentKind::Lease => ("leases", Some("coordination.k8s.io"), "v1"),
            AgentKind::Kubelet if r < 0.5 => ("nodes", None, "v1"),
            _ => RESOURCES
                .get(self.rng.below(RESOURCES.len() as u64) as usize)
                .copied()
                .unwrap_or(("pods", None, "v1")),
        };
        let cluster_scope =
            resource == "nodes" || (kind == AgentKind::BadClient && self.rng.unit() < 0.7);
        let ns = (!cluster_scope).then(|| {
            NAMESPACES
                .get(self.rng.below(NAMESPACES.len() as u64) as usize)
                .copied()
                .unwrap_or("default")
                .to_owned()
        });
        let named = matches!(verb, "get" | "update" | "patch" | "delete");
        let name = named.then(|| format!("{resource}-{}", self.rng.below(5000)));
        let subresource = match (resource, verb) {
            ("pods", "create") if self.rng.unit() < 0.05 => Some("exec"),
            ("pods" | "deployments", "update" | "patch") if self.rng.unit() < 0.3 => Some("status"),
            _ => None,
        };

        let prefix = match group {
            None => format!("/api/{version}"),
            Some(g) => format!("/apis/{g}/{version}"),
        };
        let mut uri = prefix;
        if let Some(ns) = &ns {
            uri.push_str("/namespaces/");
            uri.push_str(ns);
        }
        uri.push('/');
        uri.push_str(resource);
        if let Some(n) = &name {
            uri.push('/');
            uri.push_str(n);
        }
        if let Some(s) = subresource {
            uri.push('/');
            uri.push_str(s);
        }
        match verb {
            "list" if kind == AgentKind::BadClient => uri.push_str("?limit=500"),
            "list" => uri.push_str("?resourceVersion=0"),
            "watch" => uri.push_str("?allowWatchBookmarks=true&resourceVersion=12345&timeout=7m41s&timeoutSeconds=461&watch=true"),
            _ if kind == AgentKind::Lease => uri.push_str("?timeout=5s"),
            _ => {}
        }
        let non_resource_uri = non_resource.then(|| {
            NON_RESOURCE
                .get(self.rng.below(NON_RESOURCE.len() as u64) as usize)
                .copied()
                .unwrap_or("/healthz")
        });

        // Latency: log-normal per verb, a 1% long tail, multi-second for the bad client.
        let mut ms = match verb {
            "list" if kind == AgentKind::BadClient => self.rng.lognormal(1800.0, 0.8),
            "list" => self.rng.lognormal(25.0, 1.0),
            "get" => self.rng.lognormal(3.0, 0.7),
            _ => self.rng.lognormal(8.0, 0.8),
        };
        if self.rng.unit() < 0.01 {
            ms *= 20.0;
        }
        // 429 bursts: during minutes 40–50 of each hour, 30% of non-system requests are throttled.
        let minute = ((received - self.opts.start_ns) / (60 * NANOS_PER_SECOND)) % 60;
        let throttled = if self.opts.story {
            self.story_throttled(received) && !username.starts_with("system:node")
        } else {
            (40..50).contains(&minute)
                && !username.starts_with("system:node")
                && self.rng.unit() < 0.3
        };
        let mut code = match (verb, throttled) {
            (_, true) => 429,
            ("create", _) => 201,
            ("get", _) if self.rng.unit() < 0.05 => 404,
            ("update", _) if self.rng.unit() < 0.03 => 409,
            _ => 200,
        };
        if throttled {
            ms = self.rng.lognormal(0.5, 0.5);
        }
        let dur = (ms * 1_000.0) as i64 * 1_000;
        let audit_id = self.uuid();
        let object_ref = (!non_resource).then(|| ObjectRef {
            resource,
            subresource,
            namespace: ns.clone(),
            name: name.clone(),
            api_group: group,
            api_version: version,
        });
        let mut ev = GenEvent {
            audit_id,
            stage: "ResponseComplete",
            verb,
            request_uri: non_resource_uri.map(str::to_owned).unwrap_or(uri),
            user_agent: ua,
            username,
            groups,
            source_ip,
            object_ref,
            code,
            received_ns: received,
            stage_ns: received + dur,
            annotations: Vec::new(),
            slow_part: SlowPart::Storage,
        };
        if self.opts.story {
            self.story_adjust(&mut ev, kind == AgentKind::BadClient);
        }
        if verb == "watch" && !throttled && self.emitted < self.opts.events {
            // The stream opens now and ends minutes later: two events, one request.
            let mut end = ev.clone();
            end.stage_ns = received + (60 + self.rng.below(480) as i64) * NANOS_PER_SECOND;
            self.pending_watch_ends.push(end);
            ev.stage = "ResponseStarted";
            ev.stage_ns = received + 2 * NANOS_PER_MILLI;
            code = 200;
            ev.code = code;
        }
        Some(ev)
    }

    /// Writes all events in `shape`, one record per line (Event Hub: `records_per_message`
    /// records per line; EventList: one document).
    pub fn write(&mut self, shape: Shape, out: &mut Vec<u8>) {
        let with_logs = !matches!(shape, Shape::Native | Shape::EventList);
        match shape {
            Shape::EventList => {
                out.extend_from_slice(br#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":["#);
                let mut first = true;
                while let Some(e) = self.next_event() {
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    write_native(&e, out);
                }
                out.extend_from_slice(b"]}\n");
            }
            Shape::EventHub => {
                let per = self.opts.records_per_message.max(1);
                let mut n = 0;
                while let Some(e) = self.next_event() {
                    let mut record = Vec::new();
                    write_archive(&e, &mut record);
                    let mut records = vec![record];
                    for (t, line) in std::mem::take(&mut self.logs) {
                        let mut r = Vec::new();
                        story::write_log(Shape::Archive, t, &line, &mut r);
                        records.push(r);
                    }
                    for r in records {
                        if n == 0 {
                            out.extend_from_slice(br#"{"records":["#);
                        } else {
                            out.push(b',');
                        }
                        out.extend_from_slice(&r);
                        n += 1;
                        if n == per {
                            out.extend_from_slice(b"]}\n");
                            n = 0;
                        }
                    }
                }
                if n > 0 {
                    out.extend_from_slice(b"]}\n");
                }
            }
            _ => {
                while let Some(e) = self.next_event() {
                    write_event(shape, &e, out, false);
                    out.push(b'\n');
                    self.write_logs(with_logs.then_some(shape), out, b"", b"\n");
                }
            }
        }
    }

    /// Writes all events as one top-level JSON array of `shape` rows (a portal / query export).
    pub fn write_array(&mut self, shape: Shape, out: &mut Vec<u8>) {
        out.push(b'[');
        let mut first = true;
        while let Some(e) = self.next_event() {
            out.extend_from_slice(if first { b"\n" } else { b",\n" });
            first = false;
            write_event(shape, &e, out, false);
            if shape != Shape::Native {
                self.write_logs(Some(shape), out, b",\n", b"");
            }
        }
        out.extend_from_slice(b"\n]\n");
    }

    /// Writes AKSAudit rows whose dynamic columns are JSON-encoded strings (query API / CLI).
    pub fn write_aks_strings(&mut self, out: &mut Vec<u8>) {
        while let Some(e) = self.next_event() {
            write_event(Shape::AksAudit, &e, out, true);
            out.push(b'\n');
            self.write_logs(Some(Shape::AksAudit), out, b"", b"\n");
        }
    }
}
