#!/usr/bin/env bash
# Runs every fuzz target (or the ones named after N) for N seconds (default 600) one after another, with debug
# assertions (overflow checks) on, then minimises each corpus. Needs nightly and cargo-fuzz:
#   cargo install cargo-fuzz && fuzz/run.sh 600
# Results: fuzz/logs/<target>.log (libFuzzer's final stats); crashes: fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
shift || true
targets=${*:-$(cargo +nightly fuzz list)}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/auditframe-fuzz-target}
mkdir -p logs
for t in $targets; do
    echo "== $t: ${secs}s"
    status=0
    mkdir -p "corpus/$t"
    # Parquet seeds (footer, schema, a few pages) are larger than JSON records.
    maxlen=16384
    [ "$t" = parquet_reader ] && maxlen=32768
    # corpus/ is the working corpus (written to); seeds/ and regressions/ are read only.
    cargo +nightly fuzz run -a "$t" "corpus/$t" "seeds/$t" $(ls -d "regressions/$t" 2>/dev/null) \
        -- -max_total_time="$secs" -max_len="$maxlen" \
        -rss_limit_mb=4096 -timeout=30 -print_final_stats=1 >"logs/$t.log" 2>&1 || status=$?
    tail -n 4 "logs/$t.log"
    echo "== $t: exit $status"
    cargo +nightly fuzz cmin -a "$t" >"logs/$t.cmin.log" 2>&1 || true
    # Keep the 100 smallest inputs of the minimised corpus as seeds (bounded, fast to replay).
    ls -S -r "corpus/$t" | head -n 100 | while read -r f; do cp "corpus/$t/$f" "seeds/$t/$f"; done
done
