# NBLAST on Apache Beam. `make demo` runs the main job on the data in
# testdata/; `make test` runs every test; `make bench` the benchmarks.
GO ?= go
DEMO_OUT ?= demo-out
DEMO_ID ?= 720575940693177896

.PHONY: build demo test bench clean

build:
	$(GO) build -o bin/runner ./cmd/runner

demo: build
	./bin/runner --queries testdata/golden_synthetic.dotprops.parquet --out $(DEMO_OUT) --exists overwrite
	./bin/runner inspect --out $(DEMO_OUT) --id $(DEMO_ID) --k 5

test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchtime 2s ./scoring/ ./transforms/
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./pipeline/

clean:
	rm -rf bin $(DEMO_OUT)
