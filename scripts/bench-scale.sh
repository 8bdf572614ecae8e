#!/usr/bin/env bash
# The brain-scale benchmark (make bench-scale): on N synthetic neurons
# (default 100000, ~50M points, 2.5 GB), it measures
#   1. runner synth: wall, CPU seconds, peak RSS;
#   2. the marshalled pipeline a Dataflow job would be sent, per sink
#      (--runner=dataflow --dry_run prints "pipeline: N bytes");
#   3. a sparse all-by-all and the exact top-20 k-NN graph on prism, each
#      for BENCH_SECONDS (default 300), with the default --memory: the
#      time to the first scored work item, peak RSS and CPU seconds, and the
#      run's own projection of the whole run (pairs/s, ETA, CPU-hours) from
#      the work items scored by then. The run is then stopped.
# Figures go to stdout and to $BENCH_DIR/figures.txt; the inputs are kept
# in BENCH_DIR (default /tmp/nblast-bench-N) for the next run.
set -euo pipefail
N=${N:-100000}
SECS=${BENCH_SECONDS:-300}
DIR=${BENCH_DIR:-/tmp/nblast-bench-$N}
BIN=${RUNNER:-./bin/runner}
mkdir -p "$DIR"
FIG="$DIR/figures.txt"
: > "$FIG"
. "$(dirname "$0")/bench-lib.sh"

IN="$DIR/syn.parquet"
if [ ! -s "$IN" ]; then
	/usr/bin/time -v -o "$DIR/synth.time" "$BIN" synth --n "$N" --out "$IN" 2> "$DIR/synth.log"
	say "synth $N neurons: $(time_figures "$DIR/synth.time")"
else
	say "synth: reusing $IN"
fi

for sink in zarr sparse "topk --topk 10"; do
	# The dry run builds the job and prints its size before it would talk
	# to Dataflow; no cloud is reached (the storage emulator address is a
	# closed port, where the upload retries until the timeout stops it).
	STORAGE_EMULATOR_HOST=127.0.0.1:9 timeout 150 "$BIN" --runner=dataflow --dry_run --project=bench --region=us-central1 \
		--staging_location=gs://bench/staging --worker_binary="$BIN" \
		--queries "$IN" --out gs://bench/out --sink $sink > "$DIR/dryrun.log" 2>&1 &
	pid=$!
	for _ in $(seq 150); do
		grep -q '^pipeline:' "$DIR/dryrun.log" 2>/dev/null && break
		kill -0 $pid 2>/dev/null || break
		sleep 1
	done
	kill $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	line=$(grep -m1 '^pipeline:' "$DIR/dryrun.log" || true)
	say "dataflow dry run, --sink $sink: ${line:-no pipeline line printed}"
done

# The two brain-scale jobs, each for BENCH_SECONDS on prism with the
# default --memory (MEMORY= to set one): the sparse all-by-all and the
# exact top-20 k-NN graph.
OUT="$DIR/out"
MEM=${MEMORY:+--memory=$MEMORY}
run_sample() {
	local name=$1
	shift
	rm -rf "$OUT"
	/usr/bin/time -v -o "$DIR/$name.time" timeout -s INT "$SECS" "$BIN" --queries "$IN" --out "$OUT" $MEM "$@" 2> "$DIR/$name.log" || true
	tr '\r' '\n' < "$DIR/$name.log" > "$DIR/$name.lines"
	say "$name on prism ($*), stopped after $SECS s: $(time_figures "$DIR/$name.time")"
	say "  $(grep -m1 '^plan:' "$DIR/$name.lines" || echo 'no plan line')"
	say "  $(grep -m1 '^memory:' "$DIR/$name.lines" || echo 'no memory line')"
	say "  $(grep -m1 'scoring started' "$DIR/$name.lines" || echo 'scoring did not start')"
	say "  last progress: $(grep '^work items' "$DIR/$name.lines" | tail -1 | sed 's/ *$//')"
	rm -rf "$OUT"
}
run_sample sparse --sink sparse
run_sample knn --sink topk --topk 20 --scores mean --threshold=-Inf
