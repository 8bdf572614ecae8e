#!/usr/bin/env bash
# The brain-scale benchmark (make bench-scale): on N synthetic neurons
# (default 100000, ~50M points, 2.5 GB), it measures
#   1. runner synth: wall, CPU seconds, peak RSS;
#   2. the marshalled pipeline a Dataflow job would be sent, per sink
#      (--runner=dataflow --dry_run prints "pipeline: N bytes");
#   3. a sparse all-by-all on prism for BENCH_SECONDS (default 300): the
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

OUT="$DIR/out"
rm -rf "$OUT"
/usr/bin/time -v -o "$DIR/run.time" timeout -s INT "$SECS" "$BIN" --queries "$IN" --out "$OUT" --sink sparse 2> "$DIR/run.log" || true
tr '\r' '\n' < "$DIR/run.log" > "$DIR/run.lines"
say "sparse all-by-all on prism, stopped after $SECS s: $(time_figures "$DIR/run.time")"
say "  $(grep -m1 '^plan:' "$DIR/run.lines" || echo 'no plan line')"
say "  $(grep -m1 'scoring started' "$DIR/run.lines" || echo 'scoring did not start')"
say "  last progress: $(grep '^work items' "$DIR/run.lines" | tail -1 | sed 's/ *$//')"
rm -rf "$OUT"
