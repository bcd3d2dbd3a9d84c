//! Findings first: the verdicts of every diagnosis as a short ranked list, each one line with
//! its evidence and the guide's cause number.
//!
//! Thresholds (documented in the README):
//!
//! | finding | when | severity |
//! |---|---|---|
//! | Cause 5: a client LISTs from etcd | an etcd-read offender with ≥ 20 % of all LIST latency or ≥ 100 such LISTs (at most 3) | critical from 50 % of LIST latency, else warning |
//! | Cause 4: the API server guard | a guard FlowSchema / PriorityLevelConfiguration was created | critical |
//! | Cause 4: throttling | ≥ 1 % of requests (and ≥ 10) answered 429 | warning |
//! | Cause 3: object growth | a resource type is flagged | warning |
//! | Cause 2: webhook failures | a webhook failed (log lines or failed-open annotations) | critical when it failed closed, else warning |
//! | SLO | an upstream latency SLO is violated | warning |
//! | why slow | a (key, verb, resource) holds ≥ 10 % of the annotated slow latency (at most 3) | warning from 25 %, else info |
//! | annotations missing | more slow requests lack annotations than carry them | info |
//! | watch load | a key holds ≥ 25 % of all watch-seconds but is not in the top 3 by requests | info |
//!
//! Ranked by severity, then by the share of the problem each explains.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{max_some, min_some, ratio, DiagnosisReport, ReadType};
use crate::time::Timestamp;

/// How urgent a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Context worth knowing.
    Info,
    /// A problem that degrades the control plane.
    Warning,
    /// A problem that is likely the cause of the incident.
    Critical,
}

/// One value of a finding's evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Evidence {
    /// A count.
    Count(u64),
    /// A measure (seconds, shares, ms).
    Number(f64),
    /// A name or a time.
    Text(String),
}

/// One verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The guide's cause number (2 webhooks, 3 object growth, 4 throttling / guard, 5 LISTs),
    /// `None` for findings outside the guide's causes.
    pub cause: Option<u8>,
    /// How urgent.
    pub severity: Severity,
    /// One line for a person.
    pub summary: String,
    /// The numbers behind it.
    pub evidence: BTreeMap<&'static str, Evidence>,
    /// How much of the problem it explains (for ranking), 0 to 1.
    #[serde(skip)]
    score: f64,
}

fn hm(t: Timestamp) -> String {
    let s = t.to_string();
    s.get(11..16).map_or(s.clone(), str::to_owned)
}

fn pct(share: f64) -> String {
    format!("{:.0} %", share * 100.0)
}

fn short(key: &str) -> &str {
    if key.is_empty() {
        "(no user agent)"
    } else {
        key
    }
}

/// The findings of a report, ranked.
pub(crate) fn findings(d: &DiagnosisReport) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut add =
        |cause, severity, summary: String, score: f64, evidence: Vec<(&'static str, Evidence)>| {
            out.push(Finding {
                cause,
                severity,
                summary,
                evidence: evidence.into_iter().collect(),
                score,
            });
        };
    use Evidence::{Count, Number, Text};

    // Cause 5: LISTs from etcd.
    let list_ms: i128 = d.list.classes.iter().map(|c| c.latency_sum_ms).sum();
    for o in d
        .list
        .offenders
        .iter()
        .filter(|o| o.read_type == ReadType::Etcd)
        .filter(|o| {
            let share = ratio(o.latency_sum_ms, list_ms);
            share >= 0.2 || o.count >= 100
        })
        .take(3)
    {
        let share = ratio(o.latency_sum_ms, list_ms);
        let peak = d
            .list
            .peak_by_latency
            .as_ref()
            .filter(|p| p.top.first().is_some_and(|t| t.key == o.key));
        let peak_text = peak.map_or(String::new(), |p| {
            format!(", peak {}–{}", hm(p.start), hm(p.end))
        });
        let mut ev = vec![
            ("key", Text(o.key.clone())),
            ("resource", Text(o.resource.clone())),
            ("lists", Count(o.count)),
            ("latency_s", Number(o.latency_sum_ms as f64 / 1000.0)),
            ("share_of_list_latency", Number(share)),
        ];
        if let Some(p) = peak {
            ev.push(("peak_start", Text(p.start.to_string())));
            ev.push(("peak_end", Text(p.end.to_string())));
        }
        add(
            Some(5),
            if share >= 0.5 { Severity::Critical } else { Severity::Warning },
            format!(
                "Cause 5 — {} lists {} from etcd: {} LISTs, {:.0} s, {} of all LIST latency{peak_text}",
                short(&o.key),
                o.resource,
                o.count,
                o.latency_sum_ms as f64 / 1000.0,
                pct(share)
            ),
            share,
            ev,
        );
    }

    // Cause 4: the guard, and throttling.
    let t = &d.throttling;
    if let Some(g) = t.guard_events.iter().find(|g| g.verb == "create") {
        add(
            Some(4),
            Severity::Critical,
            format!(
                "Cause 4 — the AKS API server guard was applied at {} ({} {}): non-system clients are throttled",
                hm(g.time),
                g.verb,
                g.resource
            ),
            1.0,
            vec![("time", Text(g.time.to_string())), ("resource", Text(g.resource.clone()))],
        );
    }
    let share = ratio(i128::from(t.throttled), i128::from(t.requests));
    if t.throttled >= 10 && share >= 0.01 {
        let top = t.by_key.first();
        add(
            Some(4),
            Severity::Warning,
            format!(
                "Cause 4 — {} requests throttled (429), {} of all{}",
                t.throttled,
                pct(share),
                top.map_or(String::new(), |k| format!(
                    "; most: {} ({})",
                    short(&k.key),
                    k.throttled
                ))
            ),
            share,
            vec![
                ("throttled", Count(t.throttled)),
                ("requests", Count(t.requests)),
                ("share", Number(share)),
            ],
        );
    }

    // Cause 3: object growth.
    for g in d.growth.types.iter().filter(|g| g.flagged) {
        let creator = g.top_creators.first().map(|c| c.key.clone());
        add(
            Some(3),
            Severity::Warning,
            format!(
                "Cause 3 — {} grow by {:.0} per hour: {:.0} projected in {} (threshold {}){}",
                g.resource,
                g.per_hour,
                g.projected,
                d.growth.horizon,
                d.growth.threshold,
                creator
                    .as_deref()
                    .map_or(String::new(), |c| format!("; top creator {}", short(c)))
            ),
            (g.projected / d.growth.threshold.max(1) as f64).min(1.0),
            vec![
                ("resource", Text(g.resource.clone())),
                ("net", Number(g.net as f64)),
                ("per_hour", Number(g.per_hour)),
                ("projected", Number(g.projected)),
            ],
        );
    }

    // Cause 2: webhook failures, one finding per webhook.
    // Per webhook: failures, whether any failed closed, first and last seen.
    type Failures = (u64, bool, Option<Timestamp>, Option<Timestamp>);
    let mut by_webhook: BTreeMap<&str, Failures> = BTreeMap::new();
    for w in d.webhooks.webhooks.iter().filter(|w| w.failure) {
        let e = by_webhook
            .entry(&w.webhook)
            .or_insert((0, false, None, None));
        e.0 += w.count;
        e.1 |= w.kind == "failing_closed";
        e.2 = min_some(e.2, w.first_seen);
        e.3 = max_some(e.3, w.last_seen);
    }
    for (name, (count, closed, first, last)) in by_webhook {
        let span = match (first, last) {
            (Some(a), Some(b)) => format!(", {}–{}", hm(a), hm(b)),
            _ => String::new(),
        };
        add(
            Some(2),
            if closed {
                Severity::Critical
            } else {
                Severity::Warning
            },
            format!(
                "Cause 2 — webhook {name} {}: {count} failures{span}",
                if closed {
                    "failing closed (requests rejected)"
                } else {
                    "failing open"
                }
            ),
            1.0,
            vec![
                ("webhook", Text(name.to_owned())),
                ("failures", Count(count)),
                ("failing_closed", Text(closed.to_string())),
            ],
        );
    }

    // SLO verdicts.
    if !d.slo.pass {
        let worst = d
            .slo
            .classes
            .iter()
            .filter(|c| c.violating > 0)
            .max_by_key(|c| c.worst_p99_ms);
        add(
            None,
            Severity::Warning,
            format!(
                "SLO — {} violations of the upstream API call latency SLOs{}",
                d.slo.violations.len(),
                worst.map_or(String::new(), |c| format!(
                    "; worst {:?} p99 {} ms > {} ms",
                    c.class, c.worst_p99_ms, c.threshold_ms
                ))
            ),
            ratio(d.slo.violations.len() as i128, d.slo.windows.max(1) as i128).min(1.0),
            vec![
                ("violations", Count(d.slo.violations.len() as u64)),
                ("windows", Count(d.slo.windows)),
            ],
        );
    }

    // Why slow: the API server's latency annotations.
    let a = &d.attribution;
    for g in a.by_group.iter().take(3) {
        let share = if a.total_ms > 0.0 {
            g.total_ms / a.total_ms
        } else {
            0.0
        };
        if share < 0.1 {
            continue;
        }
        let cause_share: f64 = super::CAUSES
            .iter()
            .find(|(c, _)| *c == g.dominant_cause)
            .map_or(0.0, |(_, parts)| {
                parts
                    .iter()
                    .filter_map(|&i| g.components.get(i))
                    .map(|c| c.share)
                    .sum()
            });
        add(
            match g.dominant_cause {
                "webhook" => Some(2),
                "apf queue" => Some(4),
                _ => None,
            },
            if share >= 0.25 { Severity::Warning } else { Severity::Info },
            format!(
                "Why slow — {} {} {}: {} slow requests, {:.0} s ({} of slow latency), {} of it in {}",
                short(g.key.as_deref().unwrap_or("")),
                g.verb.as_deref().unwrap_or("-"),
                g.resource.as_deref().unwrap_or("-"),
                g.requests,
                g.total_ms / 1000.0,
                pct(share),
                pct(cause_share),
                g.dominant_cause
            ),
            share * 0.9,
            vec![
                ("key", Text(g.key.clone().unwrap_or_default())),
                ("slow_requests", Count(g.requests)),
                ("latency_s", Number(g.total_ms / 1000.0)),
                ("share_of_slow_latency", Number(share)),
                ("dominant_cause", Text(g.dominant_cause.to_owned())),
                ("dominant_share", Number(cause_share)),
            ],
        );
    }
    if a.unannotated > a.annotated {
        add(
            None,
            Severity::Info,
            format!(
                "{} of {} slow requests carry no latency annotations (clusters before 1.23, or a release that dropped them): the attribution sees only the rest",
                a.unannotated, a.slow_requests
            ),
            0.0,
            vec![("unannotated", Count(a.unannotated)), ("slow_requests", Count(a.slow_requests))],
        );
    }

    // Watch load that request counts hide.
    if let Some(l) = d
        .watches
        .top_by_load
        .iter()
        .find(|l| l.load_share >= 0.25 && l.rank_by_requests.is_none_or(|r| r > 3))
    {
        add(
            None,
            Severity::Info,
            format!(
                "Watch load — {} holds {} of all watch-seconds ({} watches) but ranks #{} by requests",
                short(&l.key),
                pct(l.load_share),
                l.watches,
                l.rank_by_requests.map_or_else(|| "-".to_owned(), |r| r.to_string())
            ),
            l.load_share * 0.5,
            vec![
                ("key", Text(l.key.clone())),
                ("watch_seconds", Number(l.watch_seconds)),
                ("load_share", Number(l.load_share)),
            ],
        );
    }

    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| b.score.total_cmp(&a.score))
    });
    out
}
