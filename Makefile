# NBLAST on Apache Beam. `make demo` runs the main job on the data in
# testdata/; `make test` runs every test; `make bench` the benchmarks.
GO ?= go
DEMO_OUT ?= demo-out
DEMO_ID ?= 720575940693177896

.PHONY: build demo test bench bench-dense bench-scale bench-peers bench-update clean

build:
	$(GO) build -o bin/runner ./cmd/runner

demo: build
	./bin/runner --queries testdata/golden_synthetic.dotprops.parquet --out $(DEMO_OUT) --exists overwrite
	./bin/runner inspect --out $(DEMO_OUT) --id $(DEMO_ID) --k 5 --names testdata/golden_synthetic.meta.csv

# Tests that need the navis reference data (../shared/testdata, or
# $NBLAST_SHARED_TESTDATA) skip without it; the last line says how many.
test:
	$(GO) vet ./...
	@log=$$(mktemp); status=0; \
	NBLAST_SKIP_LOG=$$log $(GO) test -count=1 -timeout 30m ./... || status=$$?; \
	n=$$(wc -l < $$log); rm -f $$log; \
	if [ $$n -gt 0 ]; then echo "$$n reference tests skipped: navis reference data not found (put shared/ beside the repository or set NBLAST_SHARED_TESTDATA=/path/to/shared/testdata, then make test)"; \
	else echo "all reference tests ran (navis reference data found)"; fi; \
	exit $$status

bench: bench-dense
	$(GO) test -run '^$$' -bench . -benchtime 2s ./scoring/ ./transforms/ ./dotpropsjob/
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./pipeline/

# Dense and k-NN figures, this build side by side with BASE (see the
# script): the 300-neuron kernel, dense N (default 10000) with --max_dist
# auto, the exact top-20 k-NN graph (and its projection for N_BIG), and
# --smart; figures in $(BENCH_DIR)/figures.txt. About an hour on 2 cores.
bench-dense:
	N=$(or $(N),10000) N_BIG=$(or $(N_BIG),100000) scripts/bench-dense.sh

# The brain-scale benchmark: N synthetic neurons (default 100000), the
# Dataflow job size per sink and BENCH_SECONDS (default 300) each of a
# sparse all-by-all and the exact top-20 k-NN graph on prism (default
# --memory, or MEMORY=), with peak RSS and the runs' projections of the
# whole; figures in $(BENCH_DIR)/figures.txt (see README, Sizing).
bench-scale: build
	N=$(or $(N),100000) BENCH_SECONDS=$(or $(BENCH_SECONDS),300) scripts/bench-scale.sh

# The peers side by side: this build against navis-fastcore (navis 2.0's
# Rust backend) and navis 1.12 from ../shared/anchors, whole process, same
# neurons: dense all-by-all at 300 (1 and 2 cores) and 1,000 neurons (2
# cores), and the k-NN graph at 3,000 and 10,000 neurons; prints the table
# (also in $(BENCH_DIR)/figures.txt). About 15 minutes on 2 cores. See
# scripts/bench-peers.sh for DENSE=, KNN=, ROUNDS=, NAVIS=.
bench-peers:
	scripts/bench-peers.sh

# --exists update against a fresh run: N synthetic neurons (default
# 10000), then 1% changed, 0.5% removed and 1% added; sparse and top-k
# outputs, CPU seconds of each, equality of their sorted exports, and an
# update killed with SIGKILL then run again. About 5 minutes on 2 cores at
# 10000. Figures in $(BENCH_DIR)/figures.txt.
bench-update: build
	N=$(or $(N),10000) scripts/bench-update.sh

clean:
	rm -rf bin $(DEMO_OUT)
