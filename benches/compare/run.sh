#!/usr/bin/env bash
# End to end on one machine, in one run: generate the same file, then time auditframe's
# `analyze`, DuckDB and polars (Python) answering the guide's three queries, check that the
# answers agree, and print times, ratios and peak RSS. See BENCHMARKS.md.
#
#   benches/compare/run.sh [EVENTS=1000000] [RUNS=5] [SHAPES="native aks-audit azure-diagnostics archive"]
# one file per export shape (DuckDB gets its best-case SQL for each; polars Python only reads
# native NDJSON), then the native file converted to canonical Parquet (`convert`).
set -euo pipefail
cd "$(dirname "$0")/../.."
events="${1:-1000000}"
runs="${2:-5}"
shapes="${3:-native aks-audit azure-diagnostics archive}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/auditframe-target}"
work="${COMPARE_DIR:-${TMPDIR:-/tmp}/auditframe-compare}"
mkdir -p "$work"

# The same optimised build as CI's (one polars feature set for every binary of the workspace).
cargo build --release --locked --workspace --exclude auditframe-datafusion --bins --examples
auditframe="$CARGO_TARGET_DIR/release/auditframe"

venv="$work/venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet duckdb polars
fi
"$venv/bin/python" -c 'import duckdb, polars; print("duckdb", duckdb.__version__, "| polars", polars.__version__)'
for shape in $shapes; do
  file="$work/$shape-$events.log"
  [ -s "$file" ] || "$auditframe" generate --events "$events" --seed 42 --shape "$shape" -o "$file"
  "$venv/bin/python" benches/compare/compare.py "$auditframe" "$file" --runs "$runs"
done
file="$work/native-$events.log"
[ -s "$file" ] || "$auditframe" generate --events "$events" --seed 42 -o "$file"

parquet="$work/native-$events.parquet"
[ -s "$parquet" ] || "$auditframe" convert "$file" -o "$parquet"
"$venv/bin/python" benches/compare/compare.py "$auditframe" "$parquet" --runs "$runs"
