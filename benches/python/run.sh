#!/usr/bin/env bash
# The Python package against the CLI, end to end on generated files (see bench.py and
# BENCHMARKS.md, "Python"):
#
#   benches/python/run.sh [EVENTS=1000000] [RUNS=5] [SHAPES="native azure-diagnostics"]
#
# Builds the release CLI and installs the package (pip install ./python, a release build)
# into a virtual environment of its own, generates one seeded file per shape, and times the
# three commands of bench.py on each.
set -euo pipefail
cd "$(dirname "$0")/../.."
events="${1:-1000000}"
runs="${2:-5}"
shapes="${3:-native azure-diagnostics}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/auditframe-target}"
work="${BENCH_DIR:-${TMPDIR:-/tmp}/auditframe-python-bench}"
mkdir -p "$work"

# The same optimised build as CI's (one polars feature set for every binary of the workspace).
cargo build --release --locked --workspace --exclude auditframe-datafusion --bins --examples
auditframe="$CARGO_TARGET_DIR/release/auditframe"
venv="$work/venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check ./python
for shape in $shapes; do
  file="$work/$shape-$events.log"
  [ -s "$file" ] || "$auditframe" generate --events "$events" --seed 42 --shape "$shape" -o "$file"
  "$venv/bin/python" benches/python/bench.py "$auditframe" "$file" --runs "$runs"
done
