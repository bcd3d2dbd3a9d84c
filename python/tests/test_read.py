"""`read`: the canonical schema through the Arrow PyCapsule interface, options, reports."""

from __future__ import annotations

import datetime as dt
import gzip

import duckdb
import polars as pl
import pyarrow as pa
import pytest

import auditframe
from conftest import SAMPLE, SHAPE_FILES, TESTDATA


def test_polars_gets_the_canonical_schema_without_pyarrow_in_between():
    frame = auditframe.read(SAMPLE)
    df = pl.DataFrame(frame)
    assert df.columns == auditframe.column_names("all") == frame.columns
    assert df.height == len(frame) == 6000
    assert df.schema["time_generated"] == pl.Datetime("ns", "UTC")
    assert df.schema["latency_ms"] == pl.Int64
    assert df.schema["status_code"] == pl.Int32
    assert df.schema["verb"] == pl.Categorical
    assert df.schema["audit_id"] == pl.String
    assert df.schema["truncated"] == pl.Boolean
    # Values, not only types: the sample's busiest agent and its LIST latency.
    bad = df.filter(pl.col("user_agent").cast(pl.String).str.starts_with("bad-client"))
    assert bad.height == 466
    assert bad["verb"].cast(pl.String).unique().to_list() == ["list"]


def test_pyarrow_pandas_and_duckdb_read_a_frame():
    frame = auditframe.read(SAMPLE, columns=["time_generated", "verb", "user_agent", "latency_ms"])
    table = pa.table(frame)
    assert table.num_rows == 6000
    # Canonical order, whatever order the columns were asked in.
    assert table.column_names == ["time_generated", "latency_ms", "verb", "user_agent"]
    assert table.schema.field("time_generated").type == pa.timestamp("ns", tz="UTC")
    pdf = frame.to_pandas()
    assert len(pdf) == 6000
    counts = duckdb.sql(
        "select verb::varchar as verb, count(*) as n from frame group by all order by n desc, verb"
    ).fetchall()
    assert sum(n for _, n in counts) == 6000
    want = pl.DataFrame(frame).group_by("verb").len().sort(["len", "verb"], descending=[True, False])
    assert counts[0] == (str(want["verb"][0]), want["len"][0])


@pytest.mark.parametrize("path", SHAPE_FILES, ids=lambda p: p.name)
def test_every_shape_reads_the_same_events(path):
    frame = auditframe.read(path, columns="analyses")
    assert len(frame) == 100
    assert frame.report.rows == 100
    assert frame.report.skipped == 0
    df = pl.DataFrame(frame).sort("request_received")
    native = pl.DataFrame(auditframe.read(TESTDATA / "shapes" / "native.json", columns="analyses"))
    native = native.sort("request_received")
    assert df["latency_ms"].to_list() == native["latency_ms"].to_list()


def test_columns_presets_and_lists():
    assert auditframe.read(SAMPLE, columns="analyses").columns == auditframe.column_names("analyses")
    assert set(auditframe.column_names("analyze")) <= set(auditframe.column_names("analyses"))
    frame = auditframe.read(SAMPLE, columns=["verb", "latency_ms"])
    assert frame.columns == ["latency_ms", "verb"]  # canonical order
    with pytest.raises(ValueError, match="unknown column"):
        auditframe.read(SAMPLE, columns=["verbs"])


def test_time_window_keeps_the_rows_of_the_window():
    all_rows = pl.DataFrame(auditframe.read(SAMPLE, columns=["time_generated"]))
    since = dt.datetime(2026, 11, 20, 10, 15, tzinfo=dt.timezone.utc)
    until = dt.datetime(2026, 11, 20, 10, 30, tzinfo=dt.timezone.utc)
    frame = auditframe.read(SAMPLE, since=since, until=until)
    # Both ends inclusive, like KQL `between` (and the analyses' window).
    want = all_rows.filter(pl.col("time_generated").is_between(since, until, closed="both"))
    assert len(frame) == want.height > 0
    first, last = frame.time_range
    assert since <= first and last <= until
    # A row exactly at the end is kept.
    end = all_rows["time_generated"].sort()[3000]
    at_end = auditframe.read(SAMPLE, since=since, until=end)
    assert len(at_end) == all_rows.filter(pl.col("time_generated").is_between(since, end)).height
    assert at_end.time_range[1] == end
    assert frame.report.rows == want.height and frame.report.rows_read == 6000
    newest = all_rows["time_generated"].max()
    recent = auditframe.read(SAMPLE, last=dt.timedelta(minutes=10))
    want = all_rows.filter(pl.col("time_generated") >= newest - dt.timedelta(minutes=10))
    assert len(recent) == want.height


def test_gz_directories_and_reports(tmp_path):
    lines = (TESTDATA / "shapes" / "native.json").read_bytes().splitlines(keepends=True)
    (tmp_path / "a.json.gz").write_bytes(gzip.compress(b"".join(lines[:60])))
    (tmp_path / "b.json").write_bytes(b"".join(lines[60:]) + b'{"kind":"Event","verb":3}\nnot json\n')
    frame = auditframe.read(tmp_path)
    r = frame.report
    assert (len(frame), r.rows, r.skipped) == (100, 100, 2)
    assert r.reasons == {"json": 1, "field_type": 1}
    assert [i["rows"] for i in r.inputs] == [60, 40]
    assert r.inputs[0]["name"].endswith("a.json.gz")
    assert "b.json:41:" in r.errors[0] and "field_type" in r.errors[0]
    assert r.shape == "native"


def test_copies_under_both_categories_are_dropped_unless_kept(tmp_path):
    row = (
        '{{"TimeGenerated":"2026-11-20T10:00:0{i}Z","Category":"{cat}","log_s":"{{\\"auditID\\":'
        '\\"id-{i}\\",\\"stage\\":\\"ResponseComplete\\",\\"verb\\":\\"create\\"}}"}}\n'
    )
    text = "".join(row.format(i=i, cat=c) for i in range(3) for c in ("kube-audit", "kube-audit-admin"))
    (tmp_path / "diag.json").write_text(text)
    frame = auditframe.read(tmp_path / "diag.json")
    assert (len(frame), frame.report.duplicates_dropped) == (3, 3)
    assert len(auditframe.read(tmp_path / "diag.json", keep_copies=True)) == 6
    assert auditframe.analyze(tmp_path / "diag.json")["duplicates_dropped"] == 3
