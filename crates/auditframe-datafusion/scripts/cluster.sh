#!/usr/bin/env bash
# A real Ballista cluster on localhost: auditframe's scheduler and N executors as separate
# processes, the guide's three queries over a storage-account export of many blobs (several
# clusters, kube-audit-admin copies in their own blobs), and the answers checked against the
# single-process DataFusion run and `auditframe analyze`.
#
#   crates/auditframe-datafusion/scripts/cluster.sh [--debug] [--no-build] [--executors N]
#                                                   [--clusters N] [--events N] [--keep DIR]
#
# Prints each run's wall time. Builds the examples and the CLI first (release unless --debug),
# unless --no-build (CI: `cargo test --workspace` has built them).
set -euo pipefail

profile=release
build=1
executors=2
clusters=6
events=20000
keep=""
while [ $# -gt 0 ]; do
    case "$1" in
        --debug) profile=debug ;;
        --no-build) build=0 ;;
        --executors) executors=$2; shift ;;
        --clusters) clusters=$2; shift ;;
        --events) events=$2; shift ;;
        --keep) keep=$2; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done

root=$(cd "$(dirname "$0")/../../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
flag=$([ "$profile" = release ] && echo --release || true)
if [ "$build" = 1 ]; then
    (cd "$root" && cargo build $flag -q -p auditframe-datafusion --examples && cargo build $flag -q -p auditframe-cli)
fi
bin=$target/$profile
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -z "$keep" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

data=${keep:-$work/export}
if [ ! -d "$data" ]; then
    "$bin/auditframe" generate --storage-tree "$data" --clusters "$clusters" --events "$events" \
        --admin-copies >/dev/null
fi
echo "export: $(find "$data" -type f | wc -l) blobs, $(du -sh "$data" | cut -f1)"

# Free ports: the scheduler's, then two per executor.
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"$bin/examples/scheduler" --port "$port" >"$work/scheduler.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
for i in $(seq "$executors"); do
    ports=$(python3 -c 'import socket
a=[socket.socket() for _ in range(2)]
[s.bind(("127.0.0.1",0)) for s in a]
print(*[s.getsockname()[1] for s in a])')
    set -- $ports
    "$bin/examples/executor" --scheduler-port "$port" --port "$1" --grpc-port "$2" \
        --concurrent-tasks 1 --work-dir "$work/executor-$i" >"$work/executor-$i.log" 2>&1 &
    pids+=($!)
done

run() {  # name, output file, command…
    local name=$1 out=$2
    shift 2
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >"$out"
    t1=$(date +%s.%N)
    printf '%-34s %6.2f s\n' "$name" "$(echo "$t1 - $t0" | bc)"
}

# The executors register within a second or two; retry until the cluster answers.
for attempt in $(seq 30); do
    if "$bin/examples/sql" "$data" --ballista-url "df://127.0.0.1:$port" \
        --sql "SELECT count(*) AS n FROM audit" >"$work/probe.json" 2>"$work/probe.err"; then
        break
    fi
    [ "$attempt" = 30 ] && { cat "$work/probe.err" "$work"/*.log >&2; exit 1; }
    sleep 1
done

run "ballista, $executors executor(s)" "$work/cluster.json" \
    "$bin/examples/sql" "$data" --ballista-url "df://127.0.0.1:$port"
run "datafusion, one process" "$work/local.json" "$bin/examples/sql" "$data"
run "auditframe analyze" "$work/cli.json" "$bin/auditframe" analyze "$data" --format json

python3 - "$work/cluster.json" "$work/local.json" "$work/cli.json" <<'PY'
import json, sys
cluster, local, cli = (json.load(open(p)) for p in sys.argv[1:])
keys = ["rows", "group_by", "top", "latency", "p99", "bin", "percentiles"]
for name, doc in [("single-process DataFusion", local), ("auditframe analyze", cli)]:
    bad = [k for k in keys if cluster[k] != doc[k]]
    if bad:
        sys.exit(f"the cluster's answers differ from {name} in {bad}")
print(f"same answers on the cluster, in one process and from analyze: {cluster['rows']} rows, "
      f"{len(cluster['latency'])} series points, {len(cluster['p99'])} percentile rows")
PY
