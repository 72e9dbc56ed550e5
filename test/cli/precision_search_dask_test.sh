#!/usr/bin/env bash
# tools/precision_search.py on Dask distributed over loopback: a real dask-scheduler and two dask-worker
# processes run a small sweep with the same results as the local run (accuracy and plan, point by point, the
# automatic choice from the same measured tables); a rerun runs only the points without a plan; when one worker
# is killed mid-sweep every job still completes; an unreachable scheduler is a one-line error that writes nothing. Usage: precision_search_dask_test.sh BIN_DIR
set -uo pipefail
bin=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
  kill -9 "${pids[@]}" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
py=/usr/bin/python3
cifar=$root/models/cifar10
search=("$py" "$root/tools/precision_search.py" "$cifar/cnn6.onnx" --calib "$cifar/calib_512.bin"
        --eval "--cifar10 $cifar/test_1000.bin --limit 300" --pairs 23x23,4-bit,8-bit,15x37 --all-layers-pairs 23x23 --budgets 1.0
        --timing-rounds 0 --bin "$bin" --precision-cache "$work/tables")
q46c_flags=(-- --calib-count 32 --calib-method none)

port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
scheduler=tcp://127.0.0.1:$port
dask-scheduler --host 127.0.0.1 --port "$port" --no-dashboard >"$work/scheduler.log" 2>&1 &
pids+=($!)
disown
start_worker() {
  dask-worker "$scheduler" --no-nanny --nthreads 1 --no-dashboard --name "$1" >"$work/$1.log" 2>&1 &
  pids+=($!)
  eval "$1=$!"
  disown
}
start_worker w1
start_worker w2
"$py" -c "import distributed, sys; c = distributed.Client(sys.argv[1], timeout='30s'); c.wait_for_workers(2, timeout=60)" \
  "$scheduler" || fail "the loopback cluster did not start: $(tail -3 "$work/scheduler.log")"

"${search[@]}" --out "$work/local" --jobs 2 "${q46c_flags[@]}" >/dev/null 2>"$work/local.err" || fail "local run: $(tail -1 "$work/local.err")"
"${search[@]}" --out "$work/dask" --scheduler "$scheduler" "${q46c_flags[@]}" >/dev/null 2>"$work/dask.err" ||
  fail "Dask run: $(tail -1 "$work/dask.err")"
same() {  # same points, same accuracy, same plans
  "$py" - "$1" "$2" <<'PY'
import json, sys
def load(d):
    return {json.dumps({k: r[k] for k in ("kind", "pair", "budget", "map")}, sort_keys=True): (r["top1"], r["plan_sha256"])
            for r in map(json.loads, open(d + "/results.jsonl"))}
a, b = load(sys.argv[1]), load(sys.argv[2])
sys.exit(0 if a == b and len(a) == 6 else f"{len(a)} vs {len(b)} points; differ: {[k for k in a if a[k] != b.get(k)]}")
PY
}
same "$work/local" "$work/dask" || fail "the Dask run differs from the local run"
echo "ok   6 points through a loopback scheduler and 2 workers equal the local run"

# Resumed: finished points are not run again, except one whose plan was deleted (4-bit's, the only 4-bit plan).
sha=$("$py" -c 'import json, sys; print(next(r["plan_sha256"] for r in map(json.loads, open(sys.argv[1]))
                                               if r["label"] == "4-bit"))' "$work/local/results.jsonl")
rm "$work/local/plans/$sha.q46"
"${search[@]}" --out "$work/local" --jobs 1 "${q46c_flags[@]}" >/dev/null 2>"$work/resumed.err" ||
  fail "resumed run: $(tail -1 "$work/resumed.err")"
grep -q "5 points done, 1 to run" "$work/resumed.err" || fail "resumed run: $(grep "to run" "$work/resumed.err")"
[[ -f $work/local/plans/$sha.q46 ]] || fail "resumed run: the deleted plan was not written again"
same "$work/dask" "$work/local" || fail "the resumed run differs"
echo "ok   resumed: the one point whose plan was deleted is run again, with the same result"

# A worker killed mid-sweep: its jobs go to the other worker.
"${search[@]}" --out "$work/killed" --scheduler "$scheduler" "${q46c_flags[@]}" >/dev/null 2>"$work/killed.err" &
sweep=$!
for _ in $(seq 100); do
  grep -qs "to run" "$work/killed.err" && break
  sleep 0.1
done
sleep 1
kill -0 "$sweep" 2>/dev/null || fail "the sweep ended before a worker could be killed"
done_before=$(cat "$work/killed/results.jsonl" 2>/dev/null | wc -l)
kill -9 "$w1"
wait "$sweep" || fail "sweep with a killed worker: $(tail -1 "$work/killed.err")"
((done_before < 6)) || fail "all points were done before the kill"
same "$work/local" "$work/killed" || fail "the sweep with a killed worker differs from the local run"
echo "ok   worker killed with $done_before of 6 points done: every job completed, results equal"

"${search[@]}" --out "$work/unreachable" --scheduler tcp://127.0.0.1:1 --connect-timeout 2s "${q46c_flags[@]}" >/dev/null 2>"$work/err"
rc=$?
((rc != 0 && rc < 128)) || fail "unreachable scheduler: exit $rc"
(($(wc -l <"$work/err") == 1)) || fail "unreachable scheduler: $(wc -l <"$work/err") lines on stderr"
[[ ! -e $work/unreachable ]] || fail "unreachable scheduler: the output folder was created"
echo "ok   unreachable scheduler: $(cat "$work/err")"
