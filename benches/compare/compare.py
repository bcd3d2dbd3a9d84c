#!/usr/bin/env python3
"""End-to-end comparison: auditframe's `analyze` vs DuckDB vs polars (Python) on the same file.

Each engine answers the guide's three questions with the same semantics:
  top 10 user agents by count (ties by key, bytes ascending; a missing agent is ""),
  avg latency per (agent, 5-minute bin of requestReceivedTimestamp) over rows with a latency,
  exact nearest-rank P99 latency per (agent, verb, resource) for rows with a resource,
where latency = floor(stage ms) - floor(received ms). The script checks that all three agree,
then prints wall time (median of N runs, each a fresh process), ratios and peak RSS.

FILE may also be canonical Parquet written by auditframe's `convert`: then every engine reads
the Parquet file (DuckDB `read_parquet`, polars `scan_parquet`) and uses its `latency_ms`.

Usage: compare.py AUDITFRAME_BINARY FILE [--runs N]
       compare.py --engine duckdb|polars FILE     (one run, JSON answer on stdout)
"""
import json
import os
import statistics
import subprocess
import sys
import time

BIN_MS = 5 * 60 * 1000


def shape_of(path):
    """The export shape, from the file's first line: native, aks_audit, azure_diagnostics, archive."""
    if path.endswith(".parquet"):
        return "parquet"
    with open(path, "rb") as f:
        line = f.readline()
    if b'"log_s"' in line:
        return "azure_diagnostics"
    if b'"properties"' in line:
        return "archive"
    if b'"StageReceivedTime"' in line or b'"RequestUri"' in line:
        return "aks_audit"
    return "native"


# The event's fields as JSON paths, for the shapes that carry the event as JSON text.
EVENT_PATHS = "['$.userAgent', '$.verb', '$.objectRef.resource', '$.requestReceivedTimestamp', '$.stageTimestamp']"


def duckdb_answer(path):
    import duckdb

    con = duckdb.connect()
    shape = shape_of(path)
    if shape in ("azure_diagnostics", "archive"):
        # DuckDB's best case for JSON text: only the envelope's needed columns, typed, the
        # event parsed once per row with a path list, rows filtered to the audit categories.
        if shape == "azure_diagnostics":
            src = f"""SELECT json_extract_string(log_s, {EVENT_PATHS}) AS e FROM read_json('{path}',
                format='newline_delimited', columns={{Category: 'VARCHAR', log_s: 'VARCHAR'}})
                WHERE Category IN ('kube-audit', 'kube-audit-admin')"""
        else:
            src = f"""SELECT json_extract_string(properties.log, {EVENT_PATHS}) AS e FROM read_json('{path}',
                format='newline_delimited', columns={{category: 'VARCHAR', properties: 'STRUCT(log VARCHAR)'}})
                WHERE category IN ('kube-audit', 'kube-audit-admin')"""
        con.execute(f"""CREATE TEMP TABLE ev AS SELECT coalesce(e[1], '') AS k, e[2] AS verb, e[3] AS resource,
            epoch_us(e[4]::TIMESTAMP) // 1000 AS rr,
            epoch_us(e[5]::TIMESTAMP) // 1000 - epoch_us(e[4]::TIMESTAMP) // 1000 AS lat FROM ({src})""")
        return duckdb_queries(con)
    if shape == "aks_audit":
        src = f"""read_json('{path}', format='newline_delimited', columns={{
            UserAgent: 'VARCHAR', Verb: 'VARCHAR', ObjectRef: 'STRUCT(resource VARCHAR)',
            RequestReceivedTime: 'TIMESTAMP', StageReceivedTime: 'TIMESTAMP'}})"""
        con.execute(f"""CREATE TEMP TABLE ev AS SELECT coalesce(UserAgent, '') AS k, Verb AS verb,
            ObjectRef.resource AS resource, epoch_us(RequestReceivedTime) // 1000 AS rr,
            epoch_us(StageReceivedTime) // 1000 - epoch_us(RequestReceivedTime) // 1000 AS lat FROM {src}""")
        return duckdb_queries(con)
    if path.endswith(".parquet"):
        con.execute(f"""CREATE TEMP TABLE ev AS SELECT user_agent AS k, verb, resource,
            epoch_ns(request_received) // 1000000 AS rr, latency_ms AS lat FROM read_parquet('{path}')""")
        return duckdb_queries(con)
    # epoch_ms() rounds to the nearest ms; KQL's datetime_diff floors: use µs // 1000.
    # DuckDB's best case: only the needed columns, typed up front (no schema inference).
    src = f"""read_ndjson('{path}', columns={{
        'userAgent': 'VARCHAR', 'verb': 'VARCHAR', 'objectRef': 'STRUCT(resource VARCHAR)',
        'requestReceivedTimestamp': 'TIMESTAMP', 'stageTimestamp': 'TIMESTAMP'}})"""
    con.execute(f"""CREATE TEMP TABLE ev AS SELECT coalesce(userAgent, '') AS k, verb,
        objectRef.resource AS resource,
        epoch_us(requestReceivedTimestamp) // 1000 AS rr,
        epoch_us(stageTimestamp) // 1000 - epoch_us(requestReceivedTimestamp) // 1000 AS lat FROM {src}""")
    return duckdb_queries(con)


def duckdb_queries(con):
    top = con.execute("SELECT k, count(*) c FROM ev GROUP BY k ORDER BY c DESC, k ASC LIMIT 10").fetchall()
    series = con.execute(f"""SELECT k, (rr // {BIN_MS}) * {BIN_MS} AS b, avg(lat), count(*) FROM ev
        WHERE lat IS NOT NULL GROUP BY k, b ORDER BY k, b""").fetchall()
    p99 = con.execute("""SELECT k, verb, resource,
        list_sort(list(lat))[greatest(1, ceil(0.99 * count(*)))::BIGINT] AS p99, count(*)
        FROM ev WHERE resource IS NOT NULL AND resource <> '' AND lat IS NOT NULL
        GROUP BY k, verb, resource ORDER BY k, verb, resource""").fetchall()
    return normalise(top, series, p99)


def polars_answer(path):
    import polars as pl

    if path.endswith(".parquet"):
        lf = pl.scan_parquet(path).select(
            pl.col("user_agent").cast(pl.String).alias("k"),
            pl.col("verb").cast(pl.String),
            pl.col("resource").cast(pl.String),
            pl.col("request_received").dt.epoch("ms").alias("rr"),
            pl.col("latency_ms").alias("lat"),
        )
        return polars_queries(lf.collect())
    shape = shape_of(path)
    if shape != "native":
        raise SystemExit(f"polars baseline: only native NDJSON and Parquet (not {shape})")
    lf = pl.scan_ndjson(path).select(
        pl.col("userAgent").fill_null("").alias("k"),
        pl.col("verb"),
        pl.col("objectRef").struct.field("resource").alias("resource"),
        pl.col("requestReceivedTimestamp").str.to_datetime(time_unit="us", time_zone="UTC").dt.epoch("ms").alias("rr"),
        pl.col("stageTimestamp").str.to_datetime(time_unit="us", time_zone="UTC").dt.epoch("ms").alias("st"),
    ).with_columns((pl.col("st") - pl.col("rr")).alias("lat"))
    return polars_queries(lf.collect())


def polars_queries(ev):
    import polars as pl

    top = (ev.group_by("k").agg(pl.len().alias("c")).sort(["c", "k"], descending=[True, False]).head(10)).rows()
    series = (ev.filter(pl.col("lat").is_not_null())
              .group_by("k", (pl.col("rr") // BIN_MS * BIN_MS).alias("b"))
              .agg(pl.col("lat").mean(), pl.len()).sort(["k", "b"])).rows()
    p99 = (ev.filter(pl.col("resource").is_not_null() & (pl.col("resource") != "") & pl.col("lat").is_not_null())
           .group_by("k", "verb", "resource")
           .agg(pl.col("lat").quantile(0.99, interpolation="equiprobable"), pl.len())
           .sort(["k", "verb", "resource"])).rows()
    return normalise(top, series, p99)


def normalise(top, series, p99):
    return {
        "top": [[k, int(c)] for k, c in top],
        "latency": [[k, int(b), float(a), int(c)] for k, b, a, c in series],
        "p99": [[k, v, r, int(p), int(c)] for k, v, r, p, c in p99],
    }


def analyze_answer(doc):
    from datetime import datetime, timezone

    def epoch_ms(s):
        return int(datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp() * 1000)

    series = sorted(([p["key"], epoch_ms(p["bin_start"]), p["avg_ms"], p["count"]] for p in doc["latency"]),
                    key=lambda x: (x[0].encode(), x[1]))
    p99 = sorted(([p["key"], p["verb"], p["resource"], p["p99_ms"], p["count"]] for p in doc["p99"]),
                 key=lambda x: (x[0].encode(), x[1].encode(), x[2].encode()))
    return {"top": [[t["key"], t["count"]] for t in doc["top"]], "latency": series, "p99": p99}


def same(a, b):
    if a["top"] != b["top"] or a["p99"] != b["p99"] or len(a["latency"]) != len(b["latency"]):
        return False
    for x, y in zip(a["latency"], b["latency"]):
        if x[0] != y[0] or x[1] != y[1] or x[3] != y[3] or abs(x[2] - y[2]) > 1e-6 * max(1.0, abs(y[2])):
            return False
    return True


def sort_keys(ans):
    # SQL/polars ORDER BY on strings is byte order for these ASCII/UTF-8 keys; re-sort to be sure.
    ans["latency"].sort(key=lambda x: (x[0].encode(), x[1]))
    ans["p99"].sort(key=lambda x: (x[0].encode(), x[1].encode(), x[2].encode()))
    return ans


def timed(cmd):
    """Runs cmd under /usr/bin/time -v; returns (wall seconds, peak RSS MB, stdout)."""
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"{cmd[0]} failed:\n{p.stderr[-2000:]}")
    rss = next((int(l.split(":")[1]) for l in p.stderr.splitlines() if "Maximum resident" in l), 0)
    return wall, rss / 1024, p.stdout


def main():
    if sys.argv[1] == "--engine":
        engine, path = sys.argv[2], sys.argv[3]
        ans = duckdb_answer(path) if engine == "duckdb" else polars_answer(path)
        print(json.dumps(sort_keys(ans)))
        return
    auditframe, path = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 5
    size = os.path.getsize(path)
    engines = {
        "auditframe analyze": [auditframe, "analyze", "--format", "json", path],
        "duckdb (needed columns)": [sys.executable, __file__, "--engine", "duckdb", path],
    }
    if shape_of(path) in ("native", "parquet"):
        engines["polars (python, scan_" + ("parquet)" if path.endswith(".parquet") else "ndjson)")] = \
            [sys.executable, __file__, "--engine", "polars", path]
    answers, results = {}, {}
    for name, cmd in engines.items():
        timed(cmd)  # warm-up (page cache, imports)
        walls, rsss = [], []
        for _ in range(runs):
            wall, rss, out = timed(cmd)
            walls.append(wall)
            rsss.append(rss)
        answers[name] = analyze_answer(json.loads(out)) if name.startswith("auditframe") else json.loads(out)
        results[name] = (statistics.median(walls), min(walls), max(walls), max(rsss))
    ref = answers["auditframe analyze"]
    agree = {name: same(ref, ans) for name, ans in answers.items()}
    base = results["auditframe analyze"][0]
    print(f"file: {path} ({size / 1e6:.0f} MB), {runs} runs each after a warm-up, fresh process per run")
    print(f"{'engine':<30} {'median s':>9} {'min s':>7} {'max s':>7} {'GB/s':>6} {'vs auditframe':>14} {'peak RSS MB':>12} {'same answers':>13}")
    for name, (med, lo, hi, rss) in results.items():
        print(f"{name:<30} {med:>9.3f} {lo:>7.3f} {hi:>7.3f} {size / med / 1e9:>6.2f} {med / base:>13.2f}x {rss:>12.0f} {str(agree[name]):>13}")
    if not all(agree.values()):
        sys.exit("engines disagree")


if __name__ == "__main__":
    main()
