//! The incident story the generator can tell on top of regular traffic
//! ([`GeneratorOptions::story`](super::GeneratorOptions::story)), one act per cause of the
//! guide, placed at fixed fractions of the span (minutes for the default one-hour sample):
//!
//! | when (of 60 min) | what |
//! |---|---|
//! | throughout | a CronJob leaks Jobs in `batch`: ~8 % of events are Job creates by the `cronjob-controller`, few are deleted (≈ 460 net per hour at 6 000 events/h: flagged against 10 000 per day) |
//! | 10–40 | `bad-client` pages through every pod with `limit=500` and `continue` tokens: LISTs from etcd, seconds each, annotated as mostly `etcd` time (outside this window it lists from the cache, quickly) |
//! | 20–30 | the `mutate.kyverno.svc-fail` webhook fails closed: pod creates take 10 s (annotated `mutating-webhook`) and fail with 500, and kube-apiserver logs `Failed calling webhook, failing closed …`; outside, pod creates carry its mutation annotation |
//! | 38.4 | AKS creates the `aks-managed-apiserver-guard` FlowSchema and PriorityLevelConfiguration |
//! | 40–50 | half of the non-node requests are throttled (429); of those let through, 30 % wait ~0.9 s in the APF queue (their latency annotations say `apf-queue-wait`) |
//! | 55.2 | an operator deletes the guard (Solution 4) |
//!
//! The identities (`aks-operator`, `alice@example.com`) are illustrative.

use super::{
    push_json_str, push_timestamp, GenEvent, Generator, ObjectRef, NANOS_PER_MILLI,
    NANOS_PER_SECOND,
};
use crate::Shape;

const GUARD: &str = "aks-managed-apiserver-guard";
const KYVERNO: &str = "mutate.kyverno.svc-fail";
const CRONJOB_UA: &str = "kube-controller-manager/v1.30.4 (linux/amd64) kubernetes/2c7c2b4/system:serviceaccount:kube-system:cronjob-controller";
const REPLICASET_UA: &str = "kube-controller-manager/v1.30.4 (linux/amd64) kubernetes/2c7c2b4/system:serviceaccount:kube-system:replicaset-controller";
const POD: &str = "kube-apiserver-6b8f9c7d4-x2x9z";
const RESOURCE_ID: &str = "/SUBSCRIPTIONS/00000000-0000-0000-0000-000000000000/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS-PROD";

impl Generator {
    /// Schedules the story's fixed events (the guard appearing and going away).
    pub(super) fn with_story(mut self) -> Generator {
        if !self.opts.story {
            return self;
        }
        let at = |f: f64| self.opts.start_ns + (self.opts.span_ns as f64 * f) as i64;
        let (created, deleted) = (at(0.64), at(0.92));
        let mut scheduled = Vec::new();
        for (i, resource) in ["flowschemas", "prioritylevelconfigurations"]
            .iter()
            .enumerate()
        {
            let offset = i as i64 * NANOS_PER_SECOND;
            scheduled.push(self.story_call(StoryCall {
                verb: "create",
                resource,
                group: Some("flowcontrol.apiserver.k8s.io"),
                namespace: None,
                name: Some(GUARD.to_owned()),
                user_agent: "aks-operator/v1.0",
                username: "aks-operator",
                code: 201,
                at: created + offset,
                ms: 12,
            }));
            scheduled.push(self.story_call(StoryCall {
                verb: "delete",
                resource,
                group: Some("flowcontrol.apiserver.k8s.io"),
                namespace: None,
                name: Some(GUARD.to_owned()),
                user_agent: "kubectl/v1.30.2 (linux/amd64) kubernetes/39683505",
                username: "alice@example.com",
                code: 200,
                at: deleted + offset,
                ms: 9,
            }));
        }
        // Popped from the end: latest first.
        scheduled.sort_by_key(|e| std::cmp::Reverse(e.received_ns));
        self.scheduled = scheduled;
        self
    }

    fn phase(&self, t: i64) -> f64 {
        (t - self.opts.start_ns) as f64 / self.opts.span_ns.max(1) as f64
    }

    /// A story event for this slot instead of a regular one, if any.
    pub(super) fn story_event(&mut self, now: i64) -> Option<GenEvent> {
        if self.scheduled.last().is_some_and(|e| e.received_ns <= now) {
            return self.scheduled.pop();
        }
        let phase = self.phase(now);
        let r = self.rng.unit();
        let n = self.rng.below(100_000);
        if r < 0.08 {
            let ms = self.rng.lognormal(12.0, 0.5) as i64;
            return Some(self.story_call(StoryCall {
                verb: "create",
                resource: "jobs",
                group: Some("batch"),
                namespace: Some("batch"),
                name: Some(format!("nightly-report-{n}")),
                user_agent: CRONJOB_UA,
                username: "system:serviceaccount:kube-system:cronjob-controller",
                code: 201,
                at: now,
                ms,
            }));
        }
        if r < 0.083 {
            return Some(self.story_call(StoryCall {
                verb: "delete",
                resource: "jobs",
                group: Some("batch"),
                namespace: Some("batch"),
                name: Some(format!("nightly-report-{n}")),
                user_agent: "kube-controller-manager/v1.30.4 (linux/amd64) kubernetes/2c7c2b4/system:serviceaccount:kube-system:ttl-after-finished-controller",
                username: "system:serviceaccount:kube-system:ttl-after-finished-controller",
                code: 200,
                at: now,
                ms: 7,
            }));
        }
        if (1.0 / 3.0..0.5).contains(&phase) && r < 0.113 {
            // The ReplicaSet controller retries pod creates into the failing webhook.
            let mut e = self.story_call(StoryCall {
                verb: "create",
                resource: "pods",
                group: None,
                namespace: Some("app-frontend"),
                name: None,
                user_agent: REPLICASET_UA,
                username: "system:serviceaccount:kube-system:replicaset-controller",
                code: 201,
                at: now,
                ms: 20,
            });
            self.story_adjust(&mut e, false);
            return Some(e);
        }
        if r > 0.99 {
            self.logs.push((
                now,
                format!("I{} 1 trace.go:236] Trace[{n}]: \"List\" accept:application/json total time: 512ms", klog_time(now)),
            ));
        }
        None
    }

    /// Story changes to a regular event: the bad client's read types, the webhook outage.
    pub(super) fn story_adjust(&mut self, e: &mut GenEvent, bad_client: bool) {
        let phase = self.phase(e.received_ns);
        if e.code == 429 {
            return;
        }
        if (2.0 / 3.0..5.0 / 6.0).contains(&phase)
            && e.verb != "watch"
            && !e.username.starts_with("system:node")
            && self.story_rng.unit() < 0.3
        {
            // The requests APF lets through queue first: most of their time is the wait.
            let wait = self.story_rng.lognormal(900.0, 0.5);
            e.stage_ns += (wait * 1e3) as i64 * 1_000;
            e.slow_part = super::SlowPart::ApfQueue;
        }
        if bad_client && e.verb == "list" {
            let ns = e
                .object_ref
                .as_ref()
                .and_then(|o| o.namespace.as_deref())
                .map(|ns| format!("/namespaces/{ns}"))
                .unwrap_or_default();
            e.request_uri = if (1.0 / 6.0..2.0 / 3.0).contains(&phase) {
                // Paging from etcd: a first page, then continue tokens.
                if self.rng.unit() < 0.7 {
                    let token = self.rng.next_u64();
                    format!("/api/v1{ns}/pods?continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6{token:x}&limit=500")
                } else {
                    format!("/api/v1{ns}/pods?limit=500")
                }
            } else {
                let ms = self.rng.lognormal(60.0, 0.6);
                e.stage_ns = e.received_ns + (ms * 1e3) as i64 * 1_000;
                format!("/api/v1{ns}/pods?limit=500&resourceVersion=0")
            };
        }
        let pod_create = e.verb == "create"
            && e.object_ref
                .as_ref()
                .is_some_and(|o| o.resource == "pods" && o.subresource.is_none());
        if !pod_create {
            return;
        }
        if (1.0 / 3.0..0.5).contains(&phase) {
            // `timeout=10s`, then "Internal error occurred: failed calling webhook".
            e.code = 500;
            e.slow_part = super::SlowPart::MutatingWebhook;
            e.stage_ns =
                e.received_ns + 10 * NANOS_PER_SECOND + self.rng.below(50) as i64 * NANOS_PER_MILLI;
            self.logs.push((
                e.stage_ns,
                format!(
                    "E{} 1 dispatcher.go:214] Failed calling webhook, failing closed {KYVERNO}: failed calling webhook \"{KYVERNO}\": failed to call webhook: Post \"https://kyverno-svc.kyverno.svc:443/mutate/fail?timeout=10s\": write unix @->/tunnel-uds/proxysocket: write: broken pipe",
                    klog_time(e.stage_ns)
                ),
            ));
        } else {
            e.annotations.push((
                "mutation.webhook.admission.k8s.io/round_0_index_0".to_owned(),
                format!(
                    "{{\"configuration\":\"kyverno-resource-mutating-webhook-cfg\",\"webhook\":\"{KYVERNO}\",\"mutated\":{}}}",
                    self.rng.unit() < 0.5
                ),
            ));
        }
    }

    /// Whether the story throttles a request received at `t` (before the user check).
    pub(super) fn story_throttled(&mut self, t: i64) -> bool {
        (2.0 / 3.0..5.0 / 6.0).contains(&self.phase(t)) && self.rng.unit() < 0.5
    }

    fn story_call(&mut self, c: StoryCall<'_>) -> GenEvent {
        let prefix = match c.group {
            None => "/api/v1".to_owned(),
            Some(g) => format!("/apis/{g}/v1"),
        };
        let ns = c
            .namespace
            .map(|n| format!("/namespaces/{n}"))
            .unwrap_or_default();
        let name = match (c.verb, &c.name) {
            ("create", _) | (_, None) => String::new(),
            (_, Some(n)) => format!("/{n}"),
        };
        GenEvent {
            audit_id: self.uuid(),
            stage: "ResponseComplete",
            verb: c.verb,
            request_uri: format!("{prefix}{ns}/{}{name}", c.resource),
            user_agent: Some(c.user_agent.to_owned()),
            username: c.username.to_owned(),
            groups: super::SA,
            source_ip: "10.224.0.4".to_owned(),
            object_ref: Some(ObjectRef {
                resource: c.resource,
                subresource: None,
                namespace: c.namespace.map(str::to_owned),
                name: c.name,
                api_group: c.group,
                api_version: "v1",
            }),
            code: c.code,
            received_ns: c.at,
            stage_ns: c.at + c.ms * NANOS_PER_MILLI,
            annotations: Vec::new(),
            slow_part: super::SlowPart::Storage,
        }
    }

    /// Writes the pending kube-apiserver log lines as records of `shape` (dropped for
    /// shapes that cannot carry them), each followed by `sep`.
    /// Writes the pending log lines, each between `before` and `after` (`b"", b"\n"` for
    /// NDJSON, `b",\n", b""` inside a JSON array after an element).
    pub(super) fn write_logs(
        &mut self,
        shape: Option<Shape>,
        out: &mut Vec<u8>,
        before: &[u8],
        after: &[u8],
    ) {
        for (t, line) in std::mem::take(&mut self.logs) {
            if let Some(shape) = shape {
                out.extend_from_slice(before);
                write_log(shape, t, &line, out);
                out.extend_from_slice(after);
            }
        }
    }
}

struct StoryCall<'a> {
    verb: &'static str,
    resource: &'static str,
    group: Option<&'static str>,
    namespace: Option<&'a str>,
    name: Option<String>,
    user_agent: &'a str,
    username: &'a str,
    code: i32,
    at: i64,
    ms: i64,
}

/// klog's `MMDD hh:mm:ss.uuuuuu` header time.
fn klog_time(t: i64) -> String {
    let full = crate::timestamp::format_timestamp(t);
    // `YYYY-MM-DDThh:mm:ss[.fff…]Z` → `MMDD hh:mm:ss.uuuuuu`.
    let date = full.get(5..10).unwrap_or("").replace('-', "");
    let clock = full.get(11..19).unwrap_or("");
    let micros = t.rem_euclid(NANOS_PER_SECOND) / 1_000;
    format!("{date} {clock}.{micros:06}")
}

/// Writes one kube-apiserver log line as a record of `shape`.
pub(super) fn write_log(shape: Shape, t: i64, line: &str, out: &mut Vec<u8>) {
    match shape {
        Shape::AksAudit => {
            out.extend_from_slice(b"{\"TimeGenerated\":");
            push_timestamp(out, t, 7);
            out.extend_from_slice(br#","Category":"kube-apiserver","Level":"#);
            push_json_str(
                out,
                if line.starts_with('E') {
                    "error"
                } else {
                    "info"
                },
            );
            out.extend_from_slice(br#","Message":"#);
            push_json_str(out, line);
            out.extend_from_slice(
                format!(r#","PodName":"{POD}","Type":"AKSControlPlane"}}"#).as_bytes(),
            );
        }
        Shape::AzureDiagnostics => {
            out.extend_from_slice(b"{\"TimeGenerated\":");
            push_timestamp(out, t, 7);
            out.extend_from_slice(br#","Category":"kube-apiserver","log_s":"#);
            push_json_str(out, line);
            out.extend_from_slice(format!(r#","pod_s":"{POD}","stream_s":"stderr","Type":"AzureDiagnostics","ResourceId":"{RESOURCE_ID}"}}"#).as_bytes());
        }
        _ => {
            out.extend_from_slice(b"{\"time\":");
            push_timestamp(out, t, 7);
            out.extend_from_slice(format!(r#","resourceId":"{RESOURCE_ID}","category":"kube-apiserver","operationName":"Microsoft.ContainerService/managedClusters/diagnosticLogs/Read","properties":{{"log":"#).as_bytes());
            push_json_str(out, &format!("{line}\n"));
            out.extend_from_slice(format!(r#","stream":"stderr","pod":"{POD}"}}}}"#).as_bytes());
        }
    }
}
