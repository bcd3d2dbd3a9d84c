#!/usr/bin/env bash
# Instructions per byte of `analyze`, by part of the parse: a deterministic measure (callgrind
# counts instructions, whatever else the machine is doing) for comparing two builds of the
# scanner on a noisy VM, where CPU time varies by ±15 % from run to run. Not a substitute for
# the criterion benches and `run.sh` (instructions are not cycles: cache misses and branch
# mispredictions do not show), but a change that adds or removes work shows here at once.
#
#   benches/compare/instructions.sh [AUDITFRAME] [SHAPE=native] [EVENTS=20000]
#
# AUDITFRAME defaults to the release build in $CARGO_TARGET_DIR (~/.cache/auditframe-target
# when unset; build it first, e.g. `cargo build --release --workspace --bins --exclude
# auditframe-datafusion`). Needs valgrind. Prints the total and the parts' instructions per
# input byte.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/auditframe-target}/release/auditframe}"
shape="${2:-native}"
events="${3:-20000}"
[ -x "$bin" ] || { echo "no auditframe binary at $bin (build it, or pass its path)" >&2; exit 2; }
work="${COMPARE_DIR:-${TMPDIR:-/tmp}/auditframe-compare}"
mkdir -p "$work"
file="$work/$shape-$events.log"
[ -s "$file" ] || "$bin" generate --events "$events" --seed 42 --shape "$shape" -o "$file" >/dev/null 2>&1
out="$work/callgrind.$$.out"
trap 'rm -f "$out" "$out.log"' EXIT
RAYON_NUM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file="$out" \
  "$bin" analyze --format json "$file" >/dev/null 2>"$out.log" || { cat "$out.log" >&2; exit 1; }
bytes=$(stat -c %s "$file")
callgrind_annotate --threshold=100 "$out" 2>/dev/null | python3 -c '
import re, sys
bytes = int(sys.argv[1])
parts = [
    ("stage 1: token passes", r"scan::Index::|x86::tokens|x86::nested_tokens|scan::Tokens::|scan::text::"),
    ("stage 1: classification", r"classify"),
    ("stage 2: walk", r"scan::cursor::|record::|__memcmp|Option<T>::map_or|LocalKey"),
    ("timestamps", r"timestamp::"),
    ("columns, dictionaries", r"builder::"),
    ("newline search", r"memchr::arch"),
    ("allocation", r"malloc|_int_free|cfree|__rdl_|__memset"),
    ("analyses", r"analysis::|polars"),
    ("output", r"StdoutLock|memrchr|serde_json|render::"),
]
total, sums = None, {name: 0 for name, _ in parts}
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)", line)
    if not m:
        continue
    n, what = int(m.group(1).replace(",", "")), m.group(2)
    if "PROGRAM TOTALS" in what:
        total = n
        continue
    for name, pat in parts:
        if re.search(pat, what):
            sums[name] += n
            break
print(f"{bytes / 1e6:.1f} MB, {total / 1e6:.0f} M instructions: {total / bytes:.2f} per byte")
rest = total
for name, _ in parts:
    rest -= sums[name]
    print(f"  {name:<26} {sums[name] / bytes:6.2f} per byte  {100 * sums[name] / total:5.1f} %")
label = "the rest"
print(f"  {label:<26} {rest / bytes:6.2f} per byte  {100 * rest / total:5.1f} %")
' "$bytes"
