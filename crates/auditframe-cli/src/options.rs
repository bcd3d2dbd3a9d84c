//! Flags → the library's option values. Bad values are usage errors (exit status 2).

use auditframe::analysis::parse_duration;
use auditframe::diagnose::SloThresholds;
use auditframe::time::{parse_timestamp, NANOS_PER_MILLI};
use auditframe::{AnalysisOptions, DiagnoseOptions, GroupKey, TimeWindow};

use crate::args::{AnalyzeArgs, By, DiagnoseArgs, GroupArgs, StageArg};
use crate::{Res, UsageError};

fn usage<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> Box<dyn std::error::Error> + '_ {
    move |e| Box::new(UsageError(format!("{what}: {e}")))
}

fn duration(flag: &str, s: &str) -> Res<i64> {
    parse_duration(s).map_err(usage(&format!("{flag} {s:?}")))
}

fn window(g: &GroupArgs) -> Res<TimeWindow> {
    window_of(&g.last, &g.since, &g.until, "")
}

/// The window of `--last` / `--since` / `--until` (flags named with `prefix`).
pub(crate) fn window_of(
    last: &Option<String>,
    since: &Option<String>,
    until: &Option<String>,
    prefix: &str,
) -> Res<TimeWindow> {
    Ok(match (last, since, until) {
        (Some(d), _, _) => TimeWindow::Last(duration(&format!("--{prefix}last"), d)?),
        (None, None, None) => TimeWindow::All,
        (None, s, u) => {
            let ts = |flag: &str, v: &Option<String>, dflt: i64| -> Res<i64> {
                match v {
                    Some(v) => parse_timestamp(v).map_err(usage(&format!("{flag} {v:?}"))),
                    None => Ok(dflt),
                }
            };
            TimeWindow::Between {
                start: ts(&format!("--{prefix}since"), s, i64::MIN)?,
                end: ts(&format!("--{prefix}until"), u, i64::MAX)?,
            }
        }
    })
}

fn key(by: By) -> GroupKey {
    match by {
        By::UserAgent => GroupKey::UserAgent,
        By::User => GroupKey::User,
        By::Cluster => GroupKey::Cluster,
    }
}

/// The analyses' options.
pub(crate) fn analysis(a: &AnalyzeArgs) -> Res<AnalysisOptions> {
    let mut percentiles = a.percentiles.clone();
    if !percentiles.contains(&99.0) {
        percentiles.push(99.0);
    }
    let opts = AnalysisOptions::default()
        .with_key(key(a.group.by))
        .with_top(a.group.top)
        .with_bin(duration("--bin", &a.group.bin)?)
        .with_percentiles(percentiles)
        .with_only_key(a.agent.clone())
        .with_window(window(&a.group)?)
        .with_stage((a.stage == StageArg::Complete).then(|| "ResponseComplete".to_owned()))
        .with_exclude_long_running(a.exclude_long_running)
        .with_percentile_sketch(a.approx_percentiles);
    opts.validate().map_err(usage("options"))?;
    Ok(opts)
}

/// The diagnoses' options.
pub(crate) fn diagnosis(a: &DiagnoseArgs) -> Res<DiagnoseOptions> {
    let ms = |flag: &str, s: &str| -> Res<i64> { Ok(duration(flag, s)? / NANOS_PER_MILLI) };
    let d = DiagnoseOptions::default()
        .with_key(key(a.group.by))
        .with_window(window(&a.group)?)
        .with_top(a.group.top)
        .with_bin(duration("--bin", &a.group.bin)?)
        .with_list_rules(a.list_rules)
        .with_uncached_resources(
            a.uncached_resources
                .iter()
                .filter(|r| !r.is_empty())
                .cloned()
                .collect(),
        )
        .with_growth_threshold(a.growth_threshold)
        .with_growth_horizon(duration("--growth-horizon", &a.growth_horizon)?)
        .with_slo(SloThresholds {
            mutating_ms: ms("--slo-mutating", &a.slo_mutating)?,
            read_object_ms: ms("--slo-read-object", &a.slo_read_object)?,
            read_namespace_ms: ms("--slo-read-namespace", &a.slo_read_namespace)?,
            read_cluster_ms: ms("--slo-read-cluster", &a.slo_read_cluster)?,
        });
    d.validate().map_err(usage("options"))?;
    Ok(d)
}
