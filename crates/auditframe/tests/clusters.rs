//! The `cluster` and `resource_id` columns, and grouping by cluster.

use auditframe::polars::prelude::DataType;
use auditframe::{analyze, AnalysisOptions, AuditFrame, Column, GroupKey, ParseOptions};

fn strs(f: &AuditFrame, c: Column) -> Vec<Option<String>> {
    f.column(c)
        .unwrap()
        .as_materialized_series()
        .cast(&DataType::String)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.map(str::to_owned))
        .collect()
}

const EVENT: &str = r#"{\"kind\":\"Event\",\"auditID\":\"a\",\"stage\":\"ResponseComplete\",\"verb\":\"get\",\"requestURI\":\"/api\",\"stageTimestamp\":\"2026-11-20T10:00:00Z\"}"#;

#[test]
fn clusters_from_every_resource_id_field() {
    let prod = "/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS-PROD";
    let dev = "/subscriptions/s/resourcegroups/rg/providers/microsoft.containerservice/managedClusters/aks-dev";
    let input = [
        format!(r#"{{"TimeGenerated":"2026-11-20T10:00:00Z","Category":"kube-audit","log_s":"{EVENT}","ResourceId":"{prod}"}}"#),
        format!(r#"{{"TimeGenerated":"2026-11-20T10:00:00Z","Category":"kube-audit","log_s":"{EVENT}","_ResourceId":"{dev}"}}"#),
        format!(r#"{{"TimeGenerated":"2026-11-20T10:00:00Z","Category":"kube-audit","log_s":"{EVENT}","ResourceId":"/subscriptions/s/resourceGroups/rg"}}"#),
        format!(r#"{{"TimeGenerated":"2026-11-20T10:00:00Z","Category":"kube-audit","log_s":"{EVENT}"}}"#),
    ]
    .join("\n");
    let (f, r) =
        AuditFrame::from_slice(input.as_bytes(), &ParseOptions::new().with_strict(true)).unwrap();
    assert_eq!(r.skipped_total(), 0);
    assert_eq!(
        strs(&f, Column::Cluster),
        vec![Some("aks-prod".into()), Some("aks-dev".into()), None, None]
    );
    assert_eq!(strs(&f, Column::ResourceId)[0].as_deref(), Some(prod));
    // Archive records (`resourceId`) and AKSAudit rows (`_ResourceId`), fast and serde paths.
    let archive = format!(
        r#"{{"time":"2026-11-20T10:00:00Z","resourceId":"{prod}","category":"kube-audit","properties":{{"log":"{EVENT}"}}}}"#
    );
    let aks = format!(
        r#"{{"TimeGenerated":"2026-11-20T10:00:00Z","Verb":"get","Type":"AKSAudit","_ResourceId":"{dev}"}}"#
    );
    let aks_serde = aks.replace("\"Verb\"", r#""V\u0065rb""#);
    for (input, want) in [
        (archive, "aks-prod"),
        (aks, "aks-dev"),
        (aks_serde, "aks-dev"),
    ] {
        let (f, _) =
            AuditFrame::from_slice(input.as_bytes(), &ParseOptions::new().with_strict(true))
                .unwrap();
        assert_eq!(
            strs(&f, Column::Cluster),
            vec![Some(want.to_owned())],
            "{input}"
        );
    }
    // Grouping by cluster: the null cluster is its own group, shown as "" like other null keys.
    let a = analyze(
        &f_all(&input_two()),
        &AnalysisOptions::default().with_key(GroupKey::Cluster),
    )
    .unwrap();
    let top: Vec<(&str, u64)> = a.top.iter().map(|t| (t.key.as_str(), t.count)).collect();
    assert_eq!(top, vec![("aks-prod", 2), ("aks-dev", 1)]);
}

fn input_two() -> String {
    let row = |c: &str| {
        format!(
            r#"{{"TimeGenerated":"2026-11-20T10:00:00Z","Verb":"get","Type":"AKSAudit","_ResourceId":"/s/managedclusters/{c}"}}"#
        )
    };
    [row("AKS-PROD"), row("aks-dev"), row("aks-prod")].join("\n")
}

fn f_all(input: &str) -> AuditFrame {
    AuditFrame::from_slice(input.as_bytes(), &ParseOptions::new().with_strict(true))
        .unwrap()
        .0
}
