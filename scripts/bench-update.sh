#!/usr/bin/env bash
# The update benchmark (make bench-update): N synthetic neurons (default
# 10000), then the same set with 1% of them changed (moved 0.5 µm in x),
# 0.5% removed and 1% added (copies of others moved 3 µm, new ids), made
# with DuckDB (sinks/testdata/duckdb, npm ci on first use). For each
# updatable output (sparse at threshold 0; the exact top-20 k-NN graph;
# the dense Zarr array; SINKS="sparse topk dense" picks some) it
# runs the earlier run, a fresh run on the new set and --exists update
# from the earlier output, each under /usr/bin/time -v, and compares the
# fresh and the updated output's sorted `runner export` (dense: by id with
# zarr-python, scripts/compare-dense.py); then it kills an
# update with SIGKILL after KILL_AFTER seconds (default 3), runs it again
# and compares once more. Figures go to stdout and $BENCH_DIR/figures.txt
# (default /tmp/nblast-bench-update-N); the inputs are kept there.
set -euo pipefail
N=${N:-10000}
DIR=${BENCH_DIR:-/tmp/nblast-bench-update-$N}
BIN=$(realpath "${RUNNER:-./bin/runner}")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KILL_AFTER=${KILL_AFTER:-3}
mkdir -p "$DIR"
FIG="$DIR/figures.txt"
: > "$FIG"
. "$(dirname "$0")/bench-lib.sh"

OLD="$DIR/old.parquet" NEW="$DIR/new.parquet"
[ -s "$OLD" ] || "$BIN" synth --n "$N" --out "$OLD" 2> "$DIR/synth.log"
if [ ! -s "$NEW" ]; then
	DUCK="$ROOT/sinks/testdata/duckdb"
	[ -d "$DUCK/node_modules/@duckdb/node-api" ] || npm ci --prefix "$DUCK" --no-audit --no-fund --silent >&2
	(cd "$DUCK" && node --input-type=module -e "
import { DuckDBInstance } from '@duckdb/node-api';
const [inp, out] = ['$OLD', '$NEW.tmp'];
const con = await (await DuckDBInstance.create(':memory:')).connect();
await con.run(\`CREATE TABLE p AS SELECT *, file_row_number AS r FROM read_parquet('\${inp}', file_row_number=true)\`);
await con.run(\`CREATE TABLE n AS SELECT neuron, row_number() OVER (ORDER BY min(r)) - 1 AS i, min(r) AS first FROM p GROUP BY neuron\`);
await con.run(\`CREATE TABLE q AS
  SELECT p.x + CASE WHEN n.i % 100 = 3 THEN 0.5 ELSE 0 END AS x, p.y, p.z, p.vect_x, p.vect_y, p.vect_z, p.alpha, p.neuron, n.first AS ord, p.r
    FROM p JOIN n USING (neuron) WHERE n.i % 200 <> 7
  UNION ALL
  SELECT p.x + 3, p.y, p.z, p.vect_x, p.vect_y, p.vect_z, p.alpha, p.neuron + 1000000000 AS neuron, 1e12 + n.first AS ord, p.r
    FROM p JOIN n USING (neuron) WHERE n.i % 100 = 5\`);
await con.run(\`COPY (SELECT x, y, z, vect_x, vect_y, vect_z, alpha, neuron FROM q ORDER BY ord, r) TO '\${out}' (FORMAT PARQUET, COMPRESSION ZSTD)\`);
") && mv "$NEW.tmp" "$NEW"
fi
say "inputs: $N synthetic neurons; the new set: 1% changed, 0.5% removed, 1% added ($OLD, $NEW)"

sorted() { "$BIN" export --out "$1" "${@:2}" 2> /dev/null | sort | md5sum | cut -c1-32; }
# dense: compared by id with zarr-python (an update keeps the earlier order)
same() { # fresh dir, other dir, what: "equal" or "DIFFERENT" (details in $W/compare.log)
	if [ "$3" = dense ]; then
		/usr/bin/python3 "$ROOT/scripts/compare-dense.py" "$1" "$2" >> "$W/compare.log" 2>&1 && echo "equal by id (zarr-python)" || echo DIFFERENT
	else
		a=$(sorted "$1" $3) b=$(sorted "$2" $3)
		[ "$a" = "$b" ] && echo "sorted export md5 $a: equal" || echo "sorted export md5 $a vs $b: DIFFERENT"
	fi
}
SINKS=${SINKS:-sparse topk dense}
for spec in "sparse|--sink sparse --threshold 0|" "topk|--sink topk --topk 20 --threshold=-Inf|--what topk" "dense|--sink zarr|dense"; do
	[[ " $SINKS " == *" ${spec%%|*} "* ]] || continue
	IFS='|' read -r name flags what <<< "$spec"
	W="$DIR/$name"; rm -rf "$W"; mkdir -p "$W"
	run() { # label, runner args...: time -v into W/label.time, stderr into W/label.log
		local label=$1; shift
		/usr/bin/time -v -o "$W/$label.time" "$BIN" "$@" $flags 2> "$W/$label.log"
	}
	run earlier --queries "$OLD" --out "$W/upd"
	run fresh --queries "$NEW" --out "$W/fresh"
	cp -r "$W/upd" "$W/upd-kill"
	run update --queries "$NEW" --out "$W/upd" --exists update
	f=$(cpu "$W/fresh.time") u=$(cpu "$W/update.time")
	say "$name: fresh run on the new set: $(time_figures "$W/fresh.time")"
	say "$name: --exists update:           $(time_figures "$W/update.time"); $(awk -v u="$u" -v f="$f" 'BEGIN {if (f > 0) printf "%.1f%% (%.2f of %.2f CPU s)", 100*u/f, u, f; else printf "n/a"}') of the fresh run's CPU"
	say "$name: $(grep -m1 '^update:' "$W/update.log")"
	say "$name: fresh run vs update: $(same "$W/fresh" "$W/upd" "$what")"
	"$BIN" --queries "$NEW" --out "$W/upd-kill" $flags --exists update 2> "$W/kill.log" & pid=$!
	sleep "$KILL_AFTER"; kill -9 "$pid" 2> /dev/null || true; wait "$pid" 2> /dev/null || true
	grep -q '^done:' "$W/kill.log" && say "$name: note: the update had finished before the SIGKILL (lower KILL_AFTER)"
	run again --queries "$NEW" --out "$W/upd-kill" --exists update
	say "$name: killed with SIGKILL after ${KILL_AFTER} s, then run again: $(time_figures "$W/again.time"); vs the fresh run: $(same "$W/fresh" "$W/upd-kill" "$what")"
done
