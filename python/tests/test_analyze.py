"""`analyze` and `diagnose` equal the CLI's JSON, on every export shape and on Parquet."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import auditframe
from conftest import PARQUET_FILES, SAMPLE, SHAPE_FILES

# Fields only a CLI run has (timings, stream mode, storage pruning, per-cluster tally).
RUN_ONLY = {"seconds", "mode", "frames", "pruned_files", "clusters"}
# The contract's answers; `rows`, `skipped`, `group_by`, `top`, `latency`, `p99` are the issue's.
ANSWERS = {"rows", "skipped", "group_by", "top", "latency", "p99", "bin", "percentiles"}


def assert_same_contract(py: dict, cli: dict) -> None:
    shared = (set(py) & set(cli)) - RUN_ONLY
    assert ANSWERS <= shared, sorted(ANSWERS - shared)
    for key in sorted(shared):
        assert py[key] == cli[key], key


@pytest.mark.parametrize("path", SHAPE_FILES + PARQUET_FILES + [SAMPLE], ids=lambda p: p.name)
def test_analyze_equals_the_cli_on_every_shape(path, cli):
    got = auditframe.analyze(str(path))
    want = cli("analyze", path)
    assert_same_contract(got, want)
    # Real answers, not empty ones.
    assert got["rows"] > 0 and got["top"] and got["latency"] and got["p99"]


@pytest.mark.parametrize(
    "options, flags",
    [
        ({"by": "user", "top": 3}, ["--by", "user", "--top", "3"]),
        ({"last": "20m", "stage": "complete"}, ["--last", "20m", "--stage", "complete"]),
        ({"percentiles": (50, 90.5), "bin": "1m"}, ["--percentile", "50", "--percentile", "90.5", "--bin", "1m"]),
        (
            {"since": dt.datetime(2026, 11, 20, 10, 10), "until": "2026-11-20T10:40:00Z"},
            ["--since", "2026-11-20T10:10:00Z", "--until", "2026-11-20T10:40:00Z"],
        ),
        ({"exclude_long_running": True}, ["--exclude-long-running"]),
        ({"approx_percentiles": 0.01}, ["--approx-percentiles", "0.01"]),
        (
            {"agent": "bad-client/0.1.0 (linux/amd64) list-all-pods"},
            ["--agent", "bad-client/0.1.0 (linux/amd64) list-all-pods"],
        ),
    ],
    ids=["by-user", "last-complete", "percentiles-bin", "since-until", "long-running", "sketch", "agent"],
)
def test_analyze_options_mean_what_the_flags_mean(options, flags, cli):
    got = auditframe.analyze(SAMPLE, **options)
    want = cli("analyze", SAMPLE, *flags)
    assert_same_contract(got, want)


def test_a_frame_analyses_like_its_paths_and_its_tables_hold_the_same_rows():
    frame = auditframe.read(SAMPLE)
    from_frame = auditframe.analyze(frame)
    from_path = auditframe.analyze(SAMPLE)
    for key in ("rows", "top", "latency", "p99"):
        assert from_frame[key] == from_path[key], key
    top = pl.DataFrame(from_path.tables["top"])
    assert top.to_dicts() == from_path["top"]
    p99 = pl.DataFrame(from_path.tables["p99"])
    assert p99.height == len(from_path["p99"])
    assert p99.select("key", "verb", "resource", "p99_ms", "count").to_dicts() == [
        {k: r[k] for k in ("key", "verb", "resource", "p99_ms", "count")} for r in from_path["p99"]
    ]
    latency = pl.DataFrame(from_path.tables["latency"])
    assert latency.schema["bin_start"] == pl.Datetime("ns", "UTC")
    assert latency["count"].sum() == sum(p["count"] for p in from_path["latency"])
    first = latency.row(0, named=True)
    assert first["bin_start"].strftime("%Y-%m-%dT%H:%M:%SZ") == from_path["latency"][0]["bin_start"]
    assert first["avg_ms"] == from_path["latency"][0]["avg_ms"]


def test_diagnose_equals_the_cli(cli):
    got = auditframe.diagnose(SAMPLE)
    want = cli("diagnose", SAMPLE)
    assert got["findings"] == want["findings"]
    assert got["diagnosis"] == want["diagnosis"]
    for key in set(got["input"]) & set(want["input"]) - RUN_ONLY:
        assert got["input"][key] == want["input"][key], key
    # The sample's story is found.
    assert any("bad-client" in str(f) for f in got["findings"])
    frame = auditframe.read(SAMPLE, columns="diagnostics")
    assert auditframe.diagnose(frame)["diagnosis"] == got["diagnosis"]


def test_diagnose_options(cli):
    got = auditframe.diagnose(
        SAMPLE, list_rules="before-1.31", slo_read_namespace=dt.timedelta(seconds=30), by="user"
    )
    want = cli(
        "diagnose", SAMPLE, "--list-rules", "before-1.31", "--slo-read-namespace", "30s", "--by", "user"
    )
    assert got["diagnosis"] == want["diagnosis"]


def test_convert_then_analyze_the_parquet(tmp_path, cli):
    out = tmp_path / "sample.parquet"
    report = auditframe.convert(SAMPLE, out, row_group_rows=1000)
    assert report.to_dict()["rows_written"] == 6000
    assert report.skipped == 0
    got = auditframe.analyze(out)
    assert got["format"] == "parquet"
    want = auditframe.analyze(SAMPLE)
    for key in ("rows", "top", "latency", "p99"):
        assert got[key] == want[key], key
    assert_same_contract(got, cli("analyze", out))


def test_a_frame_is_analysed_in_the_calls_window(cli):
    frame = auditframe.read(SAMPLE, columns="analyses")
    got = auditframe.analyze(frame, last="10m", by="user")
    want = cli("analyze", SAMPLE, "--last", "10m", "--by", "user")
    for key in ("window", "rows", "top", "latency", "p99"):
        assert got[key] == want[key], key
    assert got["rows"] < len(frame)
