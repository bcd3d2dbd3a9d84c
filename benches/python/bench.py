#!/usr/bin/env python3
"""The Python package against the CLI on the same file, end to end, in one run.

Three commands answer the guide's three queries on FILE, each a fresh process (interpreter
start and `import auditframe` included, as the CLI's process start is):
  cli       AUDITFRAME_BINARY analyze FILE --format json
  analyze   python -c "auditframe.analyze(FILE)"            (reads only the queries' columns)
  read      python -c "auditframe.analyze(auditframe.read(FILE, columns='analyze'))"
They run in turn (cli, analyze, read, cli, …) after a warm-up; the script checks that the
three answers are equal, then prints each one's median wall time and its ratio to the CLI
taken pair by pair (median, min, max), so a drift of the machine's speed cancels out.

Usage: bench.py AUDITFRAME_BINARY FILE [--runs N]   (run with the venv's python)
"""
import json
import statistics
import subprocess
import sys
import time

ANSWER = ("rows", "top", "latency", "p99")

PY_ANALYZE = """
import json, sys, auditframe
a = auditframe.analyze(sys.argv[1])
print(json.dumps({k: a[k] for k in %r}))
""" % (ANSWER,)

PY_READ = """
import json, sys, auditframe
a = auditframe.analyze(auditframe.read(sys.argv[1], columns="analyze"))
print(json.dumps({k: a[k] for k in %r}))
""" % (ANSWER,)


def run(cmd):
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - t, json.loads(out)


def main():
    args = sys.argv[1:]
    runs = 5
    if "--runs" in args:
        i = args.index("--runs")
        runs = int(args[i + 1])
        del args[i : i + 2]
    binary, path = args
    commands = {
        "cli": [binary, "analyze", path, "--format", "json"],
        "analyze": [sys.executable, "-c", PY_ANALYZE, path],
        "read": [sys.executable, "-c", PY_READ, path],
    }
    answers = {name: run(cmd)[1] for name, cmd in commands.items()}  # warm-up
    want = {k: answers["cli"][k] for k in ANSWER}
    for name in ("analyze", "read"):
        if answers[name] != want:
            sys.exit(f"{name}: the answer differs from the CLI's")
    times = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            times[name].append(run(cmd)[0])
    print(f"{path}: {want['rows']} rows; answers equal; {runs} runs each, alternated")
    print(f"{'command':<8} {'median s':>9} {'vs cli (pairs: median, min–max)':>34}")
    for name, ts in times.items():
        ratios = [t / c for t, c in zip(ts, times["cli"])]
        print(
            f"{name:<8} {statistics.median(ts):>9.3f} "
            f"{statistics.median(ratios):>16.3f}  ({min(ratios):.3f}–{max(ratios):.3f})"
        )


if __name__ == "__main__":
    main()
