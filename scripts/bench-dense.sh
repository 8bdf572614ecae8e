#!/usr/bin/env bash
# The dense and k-NN benchmark (part of make bench): this build side by
# side with a baseline revision (BASE, default the commit before far
# pairs, the exact k-NN and --smart), on synthetic brains:
#   1. the kernel: dense forward all-by-all of 300 synthetic neurons on one
#      core, ns per query point (BenchmarkForwardSynthetic300, both builds,
#      interleaved, COUNT runs each; the baseline runs the same benchmark
#      file);
#   2. dense all-by-all of N (default 10000) neurons with --max_dist auto:
#      CPU seconds, wall, peak RSS, both builds;
#   3. --sink topk --topk 20 --threshold=-Inf --scores mean on N: this
#      build to the end (fraction of pairs scored, CPU seconds); the
#      baseline, which scores every pair, for a BIG_SECONDS (default 300)
#      sample with its own projection; and this build's projection for
#      N_BIG (default 100000) neurons from a BIG_SECONDS sample;
#   4. --smart dense on N: CPU seconds and the fraction of cells rescored.
# Figures go to stdout and $BENCH_DIR/figures.txt (default
# /tmp/nblast-bench-dense); inputs are kept there for the next run.
set -euo pipefail
N=${N:-10000}
N_BIG=${N_BIG:-100000}
BIG_SECONDS=${BIG_SECONDS:-300}
COUNT=${COUNT:-5}
BASE=${BASE:-7f63771}
DIR=${BENCH_DIR:-/tmp/nblast-bench-dense}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$DIR"
FIG="$DIR/figures.txt"
: > "$FIG"
. "$(dirname "$0")/bench-lib.sh"

# Both builds: this tree's and BASE's, in a worktree of its own.
NEW="$DIR/runner-new"
(cd "$ROOT" && go build -o "$NEW" ./cmd/runner)
BASEDIR="$DIR/base-$BASE"
if [ ! -d "$BASEDIR" ]; then
	git -C "$ROOT" worktree add --detach "$BASEDIR" "$BASE" > /dev/null
fi
OLD="$DIR/runner-base"
(cd "$BASEDIR" && go build -o "$OLD" ./cmd/runner)
say "builds: this tree ($(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet || echo ', modified')) and base $BASE"

# 1. The kernel, interleaved: the baseline gets this tree's benchmark file.
cp "$ROOT"/scoring/bench_test.go "$ROOT"/scoring/cputime_*_test.go "$BASEDIR/scoring/"
for tree in "$ROOT" "$BASEDIR"; do
	(cd "$tree" && go test -c -o "$DIR/$(basename "$tree").scoring.test" ./scoring/) > /dev/null
done
: > "$DIR/kernel.txt"
for _ in $(seq "$COUNT"); do
	for t in new base; do
		bin="$DIR/$(basename "$ROOT").scoring.test"
		[ $t = base ] && bin="$DIR/$(basename "$BASEDIR").scoring.test"
		(cd "$ROOT/scoring" && "$bin" -test.run '^$' -test.bench 'ForwardSynthetic300$' -test.benchtime 1x -test.count 1) |
			awk -v t=$t '/ns\/point/ {for (i=1;i<=NF;i++) if ($(i+1)=="ns/point") w=$i; else if ($(i+1)=="cpu-ns/point") c=$i; print t, w, c}' >> "$DIR/kernel.txt"
	done
done
(cd "$BASEDIR" && git checkout -q scoring/bench_test.go && rm -f scoring/cputime_*_test.go)
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
k() { awk -v t=$1 -v f=$2 '$1==t {print $f}' "$DIR/kernel.txt" | median; }
say "1. dense 300 synthetic neurons, forward all-by-all, one core (median of $COUNT interleaved runs): base $(k base 2) ns/point ($(k base 3) CPU ns), this build $(k new 2) ns/point ($(k new 3) CPU ns)"

IN="$DIR/syn$N.parquet"
[ -s "$IN" ] || "$NEW" synth --n "$N" --out "$IN" 2> /dev/null
run() { # run NAME BINARY ARGS...: one timed run; its log lines in $DIR/NAME.lines
	local name=$1 bin=$2
	shift 2
	rm -rf "$DIR/out"
	/usr/bin/time -v -o "$DIR/$name.time" "$bin" --queries "$IN" --out "$DIR/out" "$@" 2> "$DIR/$name.log" > "$DIR/$name.stdout" || true
	tr '\r' '\n' < "$DIR/$name.log" | cat - "$DIR/$name.stdout" > "$DIR/$name.lines"
}

# 2. Dense with --max_dist auto.
run dense-base "$OLD" --max_dist auto
run dense-new "$NEW" --max_dist auto
say "2. dense $N all-by-all, --max_dist auto: base $(time_figures "$DIR/dense-base.time"); this build $(time_figures "$DIR/dense-new.time"); $(awk -v a="$(cpu "$DIR/dense-base.time")" -v b="$(cpu "$DIR/dense-new.time")" 'BEGIN {printf "%.1f× fewer CPU seconds, %.3f CPU-h", a/b, b/3600}')"

# 3. The exact k-NN graph.
KNN=(--sink topk --topk 20 --threshold=-Inf --scores mean)
# The baseline scores every pair (hours at 10k): a BIG_SECONDS sample and
# its own projection.
rm -rf "$DIR/out"
/usr/bin/time -v -o "$DIR/knn-base.time" timeout -s INT "$BIG_SECONDS" "$OLD" --queries "$IN" --out "$DIR/out" "${KNN[@]}" 2> "$DIR/knn-base.log" || true
tr '\r' '\n' < "$DIR/knn-base.log" > "$DIR/knn-base.lines"
say "3. top-20 mean at -Inf, $N, base (scores every pair), stopped after $BIG_SECONDS s: $(time_figures "$DIR/knn-base.time")"
say "   last progress: $(grep '^work items' "$DIR/knn-base.lines" | tail -1 | sed 's/ *$//')"
run knn-new "$NEW" "${KNN[@]}"
say "3. top-20 mean at -Inf, $N, this build, to the end: $(time_figures "$DIR/knn-new.time"); $(grep -m1 '^pruning:' "$DIR/knn-new.lines" | sed 's/.*; //' || true)"
if [ "${N_BIG}" -gt 0 ]; then
	BIG="$DIR/syn$N_BIG.parquet"
	[ -s "$BIG" ] || "$NEW" synth --n "$N_BIG" --out "$BIG" 2> /dev/null
	rm -rf "$DIR/out"
	/usr/bin/time -v -o "$DIR/knn-big.time" timeout -s INT "$BIG_SECONDS" "$NEW" --queries "$BIG" --out "$DIR/out" "${KNN[@]}" 2> "$DIR/knn-big.log" || true
	tr '\r' '\n' < "$DIR/knn-big.log" > "$DIR/knn-big.lines"
	say "3. top-20 mean at -Inf, $N_BIG, this build, stopped after $BIG_SECONDS s: $(time_figures "$DIR/knn-big.time")"
	say "   $(grep -m1 'scoring started' "$DIR/knn-big.lines" || echo 'no query block finished in the sample')"
	say "   last progress: $(grep '^work items' "$DIR/knn-big.lines" | tail -1 | sed 's/ *$//')"
fi

# 4. --smart.
run smart-new "$NEW" --smart
say "4. --smart dense $N (percentile 90, max_dist auto): $(time_figures "$DIR/smart-new.time"); $(grep -m1 '^smart:' "$DIR/smart-new.lines" || echo 'no smart line')"
rm -rf "$DIR/out"
