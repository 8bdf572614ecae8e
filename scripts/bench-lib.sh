# Shared by the benchmark scripts (sourced): say appends a line to $FIG and
# prints it; time_figures summarises a /usr/bin/time -v report; cpu gives
# its CPU seconds (user + sys).
say() { echo "$*" | tee -a "$FIG"; }
time_figures() {
	awk -F': ' '/Elapsed/ {w=$2} /User time/ {u=$2} /System time/ {s=$2} /Maximum resident/ {r=$2}
		END {printf "CPU %.0f s (user %s + sys %s), wall %s, peak RSS %.2f GB\n", u+s, u, s, w, r/1048576}' "$1"
}
cpu() { awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' "$1"; }
