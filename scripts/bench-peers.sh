#!/usr/bin/env bash
# The peers side by side (make bench-peers): this build against navis-fastcore
# (Rust, navis 2.0's default NBLAST backend) and, where asked, navis 1.12's
# builtin backend, on the same synthetic neurons (runner synth --seed 7),
# whole process, on this machine. Every speed claim in the README comes
# from the table this prints.
#
#   1. Dense all-by-all (forward, normalized, exact): ../shared/anchors/
#      three_way.sh for each N:CORES of DENSE (default "300:1 300:2
#      1000:2"), ROUNDS (default 3) alternating rounds, medians of wall
#      time; navis runs too where N:CORES is in NAVIS (default "300:1",
#      NAVIS= for none). CPU seconds (user + sys) of fastcore and the
#      runner are taken in the same rounds (/usr/bin/time around each).
#   2. The k-nearest-neighbour graph for each N of KNN (default "3000
#      10000"), 2 cores, KNN_ROUNDS alternating rounds (default 1): our
#      exact top-20 (--sink topk --topk 20 --scores mean --threshold=-Inf)
#      against fastcore's approximate nblast_knn (--no-allbyall --knn --k
#      20, mean symmetry): CPU seconds, wall, peak RSS, fastcore's
#      recall of our 19 nearest other neurons, and how many pairs per query
#      our bounds could not settle (the kernel searched them).
#
# Needs ../shared/anchors (or ANCHORS=...). fastcore is built on first use
# (fastcore/build.sh: cargo, offline, Debian's Rust crates, about 2 min);
# navis' Debian dependencies are installed by navis/install-deps.sh when
# missing (root only; otherwise navis is left out, said so). The CSV
# fastcore and navis read is made with DuckDB from npm
# (sinks/testdata/duckdb, npm ci on first use).
# Figures: stdout and $BENCH_DIR/figures.txt (default /tmp/nblast-bench-peers);
# inputs are kept there for the next run.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
ANCHORS=${ANCHORS:-$ROOT/../shared/anchors}
DIR=${BENCH_DIR:-/tmp/nblast-bench-peers}
ROUNDS=${ROUNDS:-3}
KNN_ROUNDS=${KNN_ROUNDS:-1}
DENSE=${DENSE-300:1 300:2 1000:2}
NAVIS=${NAVIS-300:1}
KNN=${KNN-3000 10000}
K=20
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
FIG="$DIR/figures.txt"
. "$ROOT/scripts/bench-lib.sh"

if [ ! -f "$ANCHORS/three_way.sh" ]; then
	echo "bench-peers: $ANCHORS/three_way.sh not found: put shared/ beside the repository or set ANCHORS=/path/to/shared/anchors" >&2
	exit 1
fi

# fastcore's driver, built once.
FC=${FASTCORE_BIN:-}
if [ -z "$FC" ]; then
	for c in "$ANCHORS/fastcore/nblast-bench/target/release/fastcore-nblast-bench" "$DIR/fastcore-build/nblast-bench/target/release/fastcore-nblast-bench"; do
		[ -x "$c" ] && FC=$c && break
	done
fi
if [ -z "$FC" ]; then
	echo "bench-peers: building fastcore (fastcore/build.sh, about 2 min)" >&2
	FASTCORE_BUILD_DIR="$DIR/fastcore-build" bash "$ANCHORS/fastcore/build.sh" >&2
	for c in "$ANCHORS/fastcore/nblast-bench/target/release/fastcore-nblast-bench" "$DIR/fastcore-build/nblast-bench/target/release/fastcore-nblast-bench"; do
		[ -x "$c" ] && FC=$c && break
	done
fi
[ -x "$FC" ] || { echo "bench-peers: fastcore's driver was not built (see above)" >&2; exit 1; }

# navis 1.12, when some row wants it.
PYLIB="$ANCHORS/navis/lib"
if [ -n "$NAVIS" ] && ! PYTHONPATH="$PYLIB" /usr/bin/python3 -c 'import navis' 2>/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		bash "$ANCHORS/navis/install-deps.sh" >&2 || true
	fi
	if ! PYTHONPATH="$PYLIB" /usr/bin/python3 -c 'import navis' 2>/dev/null; then
		echo "bench-peers: navis 1.12 does not import (run $ANCHORS/navis/install-deps.sh as root); leaving navis out" >&2
		NAVIS=""
	fi
fi

# This build, and the DuckDB reader for the CSV conversion.
(cd "$ROOT" && go build -o "$DIR/runner-bin" ./cmd/runner)
DUCK="$ROOT/sinks/testdata/duckdb"
[ -d "$DUCK/node_modules/@duckdb/node-api" ] || npm ci --prefix "$DUCK" --no-audit --no-fund --silent >&2
say "bench-peers: this build $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- . ':!*.md' || echo ' (modified)'), fastcore $FC, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(date -u +%F)"

# Figures from the timing and profile files.
median() { sort -n | awk '{a[NR]=$1} END {if (NR) print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2); else print "nan"}'; }
cpu_median() { awk '{print $2+$3}' "$1" | median; } # a /usr/bin/time -f '%e %U %S %M' log
fig() { # fig LOG: median CPU s, wall s, peak RSS GB
	printf '%s CPU s, %s s wall, %s GB' "$(cpu_median "$1")" "$(awk '{print $1}' "$1" | median)" "$(awk '{printf "%.2f\n", $4/1048576}' "$1" | median)"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b == "") print "—"; else printf "%.2f", a/b}'; }
med() { sed -n "s/.*[ :]$1 \([0-9.]*\)s.*/\1/p" <<< "$2"; } # med TOOL LINE: its median in three_way.sh's line
share() { # share PATTERN TOP: the cum % of the first node matching PATTERN in go tool pprof -top -cum output
	awk -v pat="$1" '/Total samples/ {for (i=1;i<=NF;i++) if ($i=="=") {t=$(i+1); sub("s","",t)}}
		index($0, pat) && !done {c=$4; sub("s","",c); if ($4 ~ /ms$/) c/=1000; done=1} END {printf "%.1f", 100*c/t}' "$2"
}

# synth N: the neurons of N, as Parquet (ours) and CSV (the peers'), in $DIR.
synth() {
	local n=$1
	[ -s "$DIR/syn$n.parquet" ] || "$DIR/runner-bin" synth --n "$n" --out "$DIR/syn$n.parquet" --seed 7 >&2
	if [ ! -s "$DIR/syn$n.csv" ]; then
		(cd "$DUCK" && node --input-type=module -e "
import { DuckDBInstance } from '@duckdb/node-api';
const con = await (await DuckDBInstance.create(':memory:')).connect();
await con.run(\"COPY (SELECT * FROM read_parquet('$DIR/syn$n.parquet')) TO '$DIR/syn$n.csv.tmp' (HEADER, DELIMITER ',')\");
")
		mv "$DIR/syn$n.csv.tmp" "$DIR/syn$n.csv"
	fi
}

# 1. Dense all-by-all through three_way.sh. Its WORK holds wrappers named
# as it expects (WORK/runner, the fastcore binary) that time each scoring
# run with /usr/bin/time into cpu-*.log.
W="$DIR/three-way"
mkdir -p "$W"
cat > "$W/runner" <<EOF
#!/usr/bin/env bash
case " \$* " in
*" --queries "*) exec /usr/bin/time -a -o "$W/cpu-runner.log" -f '%e %U %S %M' "$DIR/runner-bin" "\$@" ;;
*) exec "$DIR/runner-bin" "\$@" ;;
esac
EOF
cat > "$W/fastcore" <<EOF
#!/usr/bin/env bash
exec /usr/bin/time -a -o "$W/cpu-fastcore.log" -f '%e %U %S %M' "$FC" "\$@"
EOF
chmod +x "$W/runner" "$W/fastcore"
ROWS=()
for spec in $DENSE; do
	n=${spec%%:*} c=${spec##*:}
	synth "$n"
	for f in parquet csv; do ln -sf "$DIR/syn$n.$f" "$W/syn$n.$f"; done
	: > "$W/cpu-runner.log"
	: > "$W/cpu-fastcore.log"
	skip=1
	case " $NAVIS " in *" $spec "*) skip= ;; esac
	line=$(SKIP_NAVIS=$skip MAIN="$ROOT" WORK="$W" bash "$ANCHORS/three_way.sh" "$PYLIB" "$W/fastcore" "$n" "$ROUNDS" "$c" 2>&1 | tail -1)
	say "three_way.sh: $line"
	nav=$(med navis "$line") fc=$(med fastcore "$line") rn=$(med runner "$line")
	fcc=$(cpu_median "$W/cpu-fastcore.log") rnc=$(cpu_median "$W/cpu-runner.log")
	ROWS+=("| dense all-by-all, $n neurons, $c core(s) | ${nav:-—}${nav:+ s} | $fc s ($fcc CPU s) | $rn s ($rnc CPU s) | $(ratio "$fc" "$rn") | $(ratio "$nav" "$rn") |")
done

# 2. The k-NN graph: our exact top-k and fastcore's approximate one.
RECALL=$(cat <<'EOF'
import csv, sys
def load(path, cols):
    out = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            q, t = row[cols[0]], row[cols[1]]
            if t != "" and t != q:
                out.setdefault(q, []).append((int(row[cols[2]]), t))
    return {q: {t for _, t in sorted(v)[:int(sys.argv[3]) - 1]} for q, v in out.items()}
ours = load(sys.argv[1], ("query", "target", "rank"))
fc = load(sys.argv[2], ("query", "target", "rank"))
hit = sum(len(s & fc.get(q, set())) for q, s in ours.items())
tot = sum(len(s) for s in ours.values())
print(f"{hit / tot:.5f}" if tot else "nan")
EOF
)
KROWS=()
for n in $KNN; do
	synth "$n"
	: > "$DIR/knn$n-ours.times"
	: > "$DIR/knn$n-fc.times"
	for _ in $(seq "$KNN_ROUNDS"); do
		/usr/bin/time -a -o "$DIR/knn$n-fc.times" -f '%e %U %S %M' \
			"$FC" --input "$DIR/syn$n.csv" --threads 2 --no-allbyall --knn --k "$K" --knn-out "$DIR/knn$n-fc.csv" > /dev/null 2>&1
		GOMAXPROCS=2 /usr/bin/time -a -o "$DIR/knn$n-ours.times" -f '%e %U %S %M' \
			"$DIR/runner-bin" --queries "$DIR/syn$n.parquet" --out "$DIR/knn$n-out" --exists overwrite \
			--sink topk --topk "$K" --scores mean --threshold=-Inf > /dev/null 2> "$DIR/knn$n-ours.log"
	done
	"$DIR/runner-bin" export --out "$DIR/knn$n-out" --what topk --to "$DIR/knn$n-ours.csv"
	rec=$(/usr/bin/python3 -c "$RECALL" "$DIR/knn$n-ours.csv" "$DIR/knn$n-fc.csv" "$K")
	# The pairs our bounds could not settle (the run's "k-NN search:" line).
	srch=$(tr '\r' '\n' < "$DIR/knn$n-ours.log" | sed -n 's/^k-NN search: \([0-9]*\) pairs .*(\([0-9.]*\) per query, \([0-9.]*%\) of pairs.*/\2 (\3)/p' | tail -1)
	KROWS+=("| top-$K k-NN graph, $n neurons, 2 cores | $(fig "$DIR/knn$n-fc.times") | $(fig "$DIR/knn$n-ours.times") | $(ratio "$(cpu_median "$DIR/knn$n-fc.times")" "$(cpu_median "$DIR/knn$n-ours.times")") | $rec | ${srch:-not printed} |")
done

# 3. Where the runner's CPU goes, dense all-by-all at each N:CORES of
# PROFILE (default "300:1 3000:2"): a CPU profile of the whole process
# (--cpuprofile; prism's workers run in it), split into the kernel
# (scoring.ScoreBlock: the searches and sums), preparing neurons
# (scoring.NewNeuron: trees, once per neuron and process) and the rest
# (engine, staging, output, GC).
PROFILE=${PROFILE-300:1 3000:2}
PROWS=()
for spec in $PROFILE; do
	n=${spec%%:*} c=${spec##*:}
	synth "$n"
	GOMAXPROCS=$c /usr/bin/time -o "$DIR/prof$n-c$c.time" -f '%e %U %S %M' "$DIR/runner-bin" --queries "$DIR/syn$n.parquet" --out "$DIR/prof-out" --exists overwrite \
		--cpuprofile "$DIR/prof$n-c$c.pprof" > /dev/null 2>&1
	go tool pprof -top -cum -nodecount 100000 -nodefraction 0 -edgefraction 0 "$DIR/runner-bin" "$DIR/prof$n-c$c.pprof" 2> /dev/null > "$DIR/prof$n-c$c.top"
	k=$(share 'scoring.ScoreBlock[' "$DIR/prof$n-c$c.top") p=$(share 'scoring.NewNeuron' "$DIR/prof$n-c$c.top")
	PROWS+=("| dense all-by-all, $n neurons, $c core(s) | $(awk '{printf "%.2f", $2+$3}' "$DIR/prof$n-c$c.time") | $k% | $p% | $(awk -v k="$k" -v p="$p" 'BEGIN {printf "%.1f", 100-k-p}')% |")
done

# table CAPTION HEADER ROW...: a Markdown table under its caption, when
# there are rows.
table() {
	local caption=$1 header=$2
	shift 2
	[ $# -gt 0 ] || return 0
	say ""
	say "$caption"
	say ""
	say "$header"
	say "$(sed 's/[^|]*|/---|/g; s/^---//' <<< "$header")"
	local r
	for r in "$@"; do say "$r"; done
}
table "Dense: whole process, median of $ROUNDS alternating rounds (wall; CPU seconds user + sys beside it). Command: make bench-peers" \
	"| job | navis 1.12 builtin | fastcore 0.11 | this build | fastcore / ours (wall) | navis / ours (wall) |" "${ROWS[@]}"
table "k-NN: ours exact (--sink topk --topk $K --scores mean --threshold=-Inf), fastcore approximate (nblast_knn, k=$K, mean, 200 candidates); median of $KNN_ROUNDS round(s)" \
	"| job | fastcore (approximate) | ours (exact) | fastcore CPU / ours | fastcore's recall of our $((K - 1)) nearest | our pairs searched per query (share of pairs) |" "${KROWS[@]}"
table "Where this build's CPU goes (one profiled run each, go tool pprof -top -cum on $DIR/prof*.pprof)" \
	"| job | CPU s | kernel (ScoreBlock) | preparing neurons (NewNeuron) | everything else |" "${PROWS[@]}"
