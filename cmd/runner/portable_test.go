package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/container/pool"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/encoding/prototext"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/zarr"
)

// The portable runner path as Flink and Dataflow receive it: the runner
// binary submits the job to a job server (here Beam's prism, as a separate
// process), which starts the workers through Beam's Go boot loader; the
// boot loader fetches the staged runner binary and runs it with
// --worker=true. No cluster and no network: everything is on localhost.

const (
	prismPkg = "github.com/apache/beam/sdks/v2/go/cmd/prism"
	bootPkg  = "github.com/apache/beam/sdks/v2/go/container"
	// stepTimeout bounds every process a test runs: a job that hangs (a
	// worker that never connects, a pipeline that never finishes) fails
	// the test with the tail of its output instead of hanging the suite.
	stepTimeout = 3 * time.Minute
)

func goldenInput(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs("../../testdata/golden_synthetic.dotprops.parquet")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// proc is a background process whose output goes to a log file.
type proc struct {
	name, log string
	done      chan struct{}
	err       error
}

func (p *proc) tail() string {
	b, _ := os.ReadFile(p.log)
	return tail(b, 4000)
}

// startProc starts bin in its own process group, killed (group and all)
// when the test ends or after 2×stepTimeout.
func startProc(t *testing.T, name, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, log: filepath.Join(t.TempDir(), name+".log"), done: make(chan struct{})}
	f, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*stepTimeout)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = filepath.Dir(p.log)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
	})
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitListening waits until addr accepts connections; it fails if p exits
// first or nothing listens within 30 s.
func waitListening(t *testing.T, p *proc, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited before listening on %s: %v\n--- %s output:\n%s", p.name, addr, p.err, p.name, p.tail())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not listen on %s within 30s\n--- %s output:\n%s", p.name, addr, p.name, p.tail())
		}
	}
}

// startPrism starts Beam's prism job server on a free port, web UI off,
// and returns its endpoint.
func startPrism(t *testing.T) (endpoint string, p *proc) {
	t.Helper()
	bin := binary(t, prismPkg)
	port := freePort(t)
	p = startProc(t, "prism", bin, "--job_port="+strconv.Itoa(port), "--serve_http=false", "--log_kind=text")
	endpoint = "localhost:" + strconv.Itoa(port)
	waitListening(t, p, endpoint)
	return endpoint, p
}

// workers is the program a PROCESS or EXTERNAL environment starts: Beam's
// Go boot loader behind a small shell script that
//   - removes the quotes prism v2.77.0 puts around the worker id
//     (--id='…': the boot loader passes them on, and prism then refuses the
//     worker as unknown and the job never ends);
//   - runs the boot loader in a directory of the test's own, also as its
//     --semi_persist_dir (it writes pipeline_options.json to its working
//     directory);
//   - starts it in a new process group (setsid keeps the pid) and records
//     that pid, because the worker the boot loader starts outlives it (and
//     the job server) and must be killed;
//   - sends the workers' output to a log file.
type workers struct {
	shim, dir string
}

// started is the number of boot loaders started.
func (w workers) started() int {
	raw, _ := os.ReadFile(filepath.Join(w.dir, "pids"))
	return len(strings.Fields(string(raw)))
}

func (w workers) log() string {
	b, _ := os.ReadFile(filepath.Join(w.dir, "workers.log"))
	return tail(b, 4000)
}

func bootWorkers(t *testing.T) workers {
	t.Helper()
	boot := binary(t, bootPkg)
	dir := t.TempDir()
	script := fmt.Sprintf(`#!/bin/sh
echo $$ >> '%[1]s/pids'
exec >> '%[1]s/workers.log' 2>&1
cd '%[1]s' || exit 1
for a do shift; case $a in --id=*) a=$(printf %%s "$a" | tr -d "'");; esac; set -- "$@" "$a"; done
exec setsid '%[2]s' --semi_persist_dir='%[1]s' "$@"
`, dir, boot)
	w := workers{shim: filepath.Join(dir, "boot.sh"), dir: dir}
	if err := os.WriteFile(w.shim, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	// The boot loader copies the worker binary to a fresh /tmp/bin*/worker
	// (a fixed location); remove those this test made.
	before, _ := filepath.Glob("/tmp/bin*")
	t.Cleanup(func() {
		raw, _ := os.ReadFile(filepath.Join(dir, "pids"))
		for _, f := range strings.Fields(string(raw)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
				syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
		after, _ := filepath.Glob("/tmp/bin*")
		for _, d := range after {
			if slices.Contains(before, d) {
				continue
			}
			if es, err := os.ReadDir(d); err == nil && len(es) == 1 && es[0].Name() == "worker" {
				os.RemoveAll(d)
			}
		}
	})
	return w
}

// runStep runs the runner binary with args and returns its stderr and
// stdout. It fails the test if the run fails or takes longer than
// stepTimeout, naming the step and showing the tails of the runner's
// output and of the logs of the other processes involved.
func runStep(t *testing.T, step string, env []string, logs map[string]func() string, args ...string) string {
	t.Helper()
	bin := binary(t, ".")
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	t0 := time.Now()
	err := cmd.Run()
	if err == nil {
		t.Logf("%s: %s", step, time.Since(t0).Round(time.Millisecond))
		return out.String()
	}
	var b strings.Builder
	if ctx.Err() != nil {
		fmt.Fprintf(&b, "%s: hung: the runner had not finished after %v (killed)", step, stepTimeout)
	} else {
		fmt.Fprintf(&b, "%s: runner failed: %v", step, err)
	}
	fmt.Fprintf(&b, "\n--- runner output:\n%s", tail(out.Bytes(), 4000))
	for name, l := range logs {
		fmt.Fprintf(&b, "\n--- %s:\n%s", name, l())
	}
	t.Fatal(b.String())
	return ""
}

// sameTree fails unless directories a and b hold the same files with the
// same bytes.
func sameTree(t *testing.T, a, b string) {
	t.Helper()
	ma, mb := readTree(t, a), readTree(t, b)
	if len(ma) == 0 {
		t.Fatalf("%s is empty", a)
	}
	for name, x := range ma {
		if y, ok := mb[name]; !ok {
			t.Errorf("%s: missing from %s", name, b)
		} else if !bytes.Equal(x, y) {
			t.Errorf("%s differs between %s and %s", name, a, b)
		}
	}
	for name := range mb {
		if _, ok := ma[name]; !ok {
			t.Errorf("%s: only in %s", name, b)
		}
	}
}

// summaryLine returns the line of out that starts with prefix.
func summaryLine(t *testing.T, out, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("no %q line in the output:\n%s", prefix, tail([]byte(out), 4000))
	return ""
}

// TestPortableProcessWorkers submits the job to prism as a job server with
// a PROCESS environment: prism starts the boot loader, which fetches the
// staged runner binary from prism's artifact service and runs it as a
// worker. The Zarr output (scores both) must be byte for byte the output
// of a local run, and the run must report the Beam counters.
func TestPortableProcessWorkers(t *testing.T) {
	endpoint, prism := startPrism(t)
	w := bootWorkers(t)
	runner, in, dir := binary(t, "."), goldenInput(t), t.TempDir()
	logs := map[string]func() string{"prism": prism.tail, "workers": w.log}
	common := []string{"--queries", in, "--scores", "both"}

	local := runStep(t, "local run (prism in process)", nil, nil, append(common, "--out", filepath.Join(dir, "local"))...)
	envCfg, _ := json.Marshal(map[string]string{"command": w.shim})
	remote := runStep(t, "universal run, PROCESS workers", nil, logs, append(common, "--out", filepath.Join(dir, "remote"),
		"--runner=universal", "--endpoint="+endpoint, "--environment_type=PROCESS", "--environment_config="+string(envCfg),
		"--worker_binary="+runner)...)

	sameTree(t, filepath.Join(dir, "local"), filepath.Join(dir, "remote"))
	for _, name := range []string{"scores", "scores_reverse"} {
		z, err := zarr.Open(context.Background(), filepath.Join(dir, "remote"), name)
		if err != nil {
			t.Fatal(err)
		}
		if !z.Complete() || z.Shape != [2]int{17, 17} {
			t.Errorf("%s: complete %v, shape %v; want complete 17×17", name, z.Complete(), z.Shape)
		}
	}
	want := "scored: 36 work items, 289 pairs "
	for run, out := range map[string]string{"local": local, "remote": remote} {
		if l := summaryLine(t, out, "scored:"); !strings.HasPrefix(l, want) {
			t.Errorf("%s run: %q, want %q…", run, l, want)
		}
	}
	if w.started() == 0 {
		t.Errorf("prism started no boot loader")
	}
}

// TestPortableFlinkExternalWorkers submits the job as --runner=flink (the
// universal runner under Flink's name) to prism with an EXTERNAL
// environment: a Beam worker pool (container/pool, as `boot --worker_pool`
// runs it beside a Flink task manager) on a free port starts the boot
// loader for each worker. Sparse and top-k output with pruning: the parts,
// manifest and top-k must be byte for byte those of a local run, and the
// counters (pairs pruned inside items) the same.
func TestPortableFlinkExternalWorkers(t *testing.T) {
	endpoint, prism := startPrism(t)
	w := bootWorkers(t)
	ctx, cancel := context.WithCancel(context.Background())
	poolPort := freePort(t)
	srv, err := pool.New(ctx, poolPort, w.shim)
	if err != nil {
		cancel()
		t.Fatalf("worker pool: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeAndWait() }()
	t.Cleanup(func() {
		srv.Stop(context.Background())
		cancel()
		<-served
	})
	runner, in, dir := binary(t, "."), goldenInput(t), t.TempDir()
	logs := map[string]func() string{"prism": prism.tail, "workers": w.log}
	common := []string{"--queries", in, "--sink", "sparse", "--threshold", "0.2", "--topk", "3"}

	local := runStep(t, "local run (prism in process)", nil, nil, append(common, "--out", filepath.Join(dir, "local"))...)
	remote := runStep(t, "flink run, EXTERNAL worker pool", nil, logs, append(common, "--out", filepath.Join(dir, "remote"),
		"--runner=flink", "--endpoint="+endpoint, "--environment_type=EXTERNAL", "--environment_config=localhost:"+strconv.Itoa(poolPort),
		"--worker_binary="+runner)...)

	sameTree(t, filepath.Join(dir, "local"), filepath.Join(dir, "remote"))
	if w.started() == 0 {
		t.Errorf("the worker pool started no boot loader")
	}
	for _, prefix := range []string{"scored:", "pruning:"} {
		l, r := summaryLine(t, local, prefix), summaryLine(t, remote, prefix)
		if l != r {
			t.Errorf("local and remote runs differ:\n%s\n%s", l, r)
		}
	}
	if l := summaryLine(t, remote, "pruning:"); !regexp.MustCompile(`, [1-9][0-9]* pairs pruned inside scored items`).MatchString(l) {
		t.Errorf("remote run reports no pairs pruned inside items (counter nblast/pairs_pruned): %q", l)
	}
}

// TestDataflowDryRun builds the Dataflow job with --dry_run: nothing is
// submitted, nothing staged, nothing written to --out; the job JSON and
// the model pipeline (which Beam logs) reach stderr and hold the
// project's transforms, the shuffles, the worker binary and the staging
// location. Cloud Storage is a local fake that answers 404 (the runner
// asks for the staging bucket's soft-delete policy) and records requests.
func TestDataflowDryRun(t *testing.T) {
	var mu sync.Mutex
	var requests []string
	gcs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":{"code":404,"message":"fake GCS: not found"}}`))
	}))
	defer gcs.Close()

	runner, in := binary(t, "."), goldenInput(t)
	out := filepath.Join(t.TempDir(), "out")
	const staging = "gs://nblast-test-bucket/staging"
	stderr := runStep(t, "dataflow dry run", []string{"STORAGE_EMULATOR_HOST=" + strings.TrimPrefix(gcs.URL, "http://")}, nil,
		"--runner=dataflow", "--dry_run", "--project=nblast-proj", "--region=europe-west4", "--staging_location="+staging,
		"--worker_binary="+runner, "--queries", in, "--out", out, "--scores", "mean")

	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the dry run created --out %s (stat: %v)", out, err)
	}
	mu.Lock()
	for _, r := range requests {
		if !strings.HasPrefix(r, "GET ") {
			t.Errorf("the dry run wrote to Cloud Storage: %s", r)
		}
	}
	mu.Unlock()
	summaryLine(t, stderr, "dry run: the Dataflow job above was not submitted")

	// The model pipeline is the line after Beam's "Dry-run" notice; the job
	// JSON starts at a line "{".
	lines := strings.Split(stderr, "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "Dry-run: not submitting job") })
	if i < 0 || i+1 >= len(lines) {
		t.Fatalf("no model pipeline in the output:\n%s", tail([]byte(stderr), 4000))
	}
	var model pipepb.Pipeline
	if err := prototext.Unmarshal([]byte(lines[i+1]), &model); err != nil {
		t.Fatalf("model pipeline: %v\n%.2000s", err, lines[i+1])
	}
	names := map[string]bool{}
	urns := map[string]int{}
	for _, tr := range model.GetComponents().GetTransforms() {
		names[tr.GetUniqueName()] = true
		urns[tr.GetSpec().GetUrn()]++
	}
	for _, n := range []string{"StageBlocks", "StageBlocks/transforms.splitsFn", "StageBlocks/transforms.fragmentFn", "StageBlocks/transforms.bucketFn",
		"WorkItems", "WorkItems/transforms.itemsFn", "Score", "Score/Reshuffle", "Score/transforms.scoreFn",
		"WriteZarr", "WriteZarr/sinks.writeChunkFn", "WriteZarr/sinks.finalizeZarrFn"} {
		if !names[n] {
			t.Errorf("model pipeline has no transform %q", n)
		}
	}
	if urns["beam:transform:reshuffle:v1"] < 2 || urns["beam:transform:group_by_key:v1"] < 1 {
		t.Errorf("model pipeline: %d reshuffles, %d group-by-keys; want the staging and scoring reshuffles and the staging GroupByKey",
			urns["beam:transform:reshuffle:v1"], urns["beam:transform:group_by_key:v1"])
	}

	j := slices.Index(lines, "{")
	if j < 0 {
		t.Fatalf("no Dataflow job JSON in the output:\n%s", tail([]byte(stderr), 4000))
	}
	var job struct {
		ProjectID   string `json:"projectId"`
		Type        string
		Environment struct {
			TempStoragePrefix  string
			SdkPipelineOptions struct {
				Options struct {
					PipelineURL string `json:"pipelineUrl"`
					Region      string
				}
				GoOptions struct {
					Options map[string]string
				} `json:"beam:option:go_options:v1"`
			}
			WorkerPools []struct {
				Packages []struct{ Name, Location string }
			}
		}
	}
	dec := json.NewDecoder(strings.NewReader(strings.Join(lines[j:], "\n")))
	if err := dec.Decode(&job); err != nil {
		t.Fatalf("Dataflow job JSON: %v", err)
	}
	env := job.Environment
	opts := env.SdkPipelineOptions
	if job.ProjectID != "nblast-proj" || job.Type != "JOB_TYPE_BATCH" || opts.Options.Region != "europe-west4" {
		t.Errorf("job: project %q, type %q, region %q", job.ProjectID, job.Type, opts.Options.Region)
	}
	if !strings.HasPrefix(opts.Options.PipelineURL, staging+"/") || !strings.HasPrefix(env.TempStoragePrefix, staging+"/") {
		t.Errorf("model at %q, temp at %q: not under the staging location %s", opts.Options.PipelineURL, env.TempStoragePrefix, staging)
	}
	if len(env.WorkerPools) != 1 || len(env.WorkerPools[0].Packages) == 0 ||
		env.WorkerPools[0].Packages[0].Name != "worker" || !strings.HasPrefix(env.WorkerPools[0].Packages[0].Location, staging+"/") {
		t.Errorf("worker package: %+v; want the worker staged under %s", env.WorkerPools, staging)
	}
	for k, v := range map[string]string{"worker_binary": runner, "queries": in, "out": out, "scores": "mean"} {
		if got := opts.GoOptions.Options[k]; got != v {
			t.Errorf("job's Go option %s = %q, want %q", k, got, v)
		}
	}
}

// TestDryRunOnlyForDataflow: --dry_run with another runner would run the
// job without preparing its output; it is refused.
func TestDryRunOnlyForDataflow(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	b, err := exec.CommandContext(ctx, binary(t, "."), "--dry_run", "--queries", goldenInput(t), "--out", out).CombinedOutput()
	if err == nil || !strings.Contains(string(b), "--dry_run only applies to --runner=dataflow") {
		t.Errorf("err %v, output:\n%s", err, b)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("--out created")
	}
}

// TestPortableUpdate runs --exists update on the portable path (prism as
// a job server, PROCESS workers started by the boot loader): for a dense
// output (scores both) and a sparse one, the updated OUT must be byte for
// byte what the same update run locally gives. The earlier inputs are the
// golden neurons less two, the new ones all 17 with one of the earlier
// neurons moved 2 µm.
func TestPortableUpdate(t *testing.T) {
	ctx := context.Background()
	endpoint, prism := startPrism(t)
	w := bootWorkers(t)
	runner, dir := binary(t, "."), t.TempDir()
	dps, err := dotprops.ReadDotpropsFile(ctx, goldenInput(t), dotprops.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	moved := *dps[3]
	moved.Points = slices.Clone(moved.Points)
	for k := range moved.Points {
		moved.Points[k][0] += 2
	}
	now := slices.Clone(dps)
	now[3] = &moved
	oldIn, newIn := filepath.Join(dir, "old.parquet"), filepath.Join(dir, "new.parquet")
	if err := dotprops.WriteParquetFile(ctx, oldIn, dps[:15]); err != nil {
		t.Fatal(err)
	}
	if err := dotprops.WriteParquetFile(ctx, newIn, now); err != nil {
		t.Fatal(err)
	}
	logs := map[string]func() string{"prism": prism.tail, "workers": w.log}
	envCfg, _ := json.Marshal(map[string]string{"command": w.shim})
	remote := []string{"--runner=universal", "--endpoint=" + endpoint, "--environment_type=PROCESS", "--environment_config=" + string(envCfg),
		"--worker_binary=" + runner}
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"dense", []string{"--scores", "both"}},
		{"sparse", []string{"--sink", "sparse", "--threshold", "0.1", "--scores", "mean"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			local := filepath.Join(dir, tc.name)
			runStep(t, "earlier run", nil, nil, append([]string{"--queries", oldIn, "--out", local}, tc.flags...)...)
			rem := copyOutput(t, local)
			upd := append([]string{"--queries", newIn, "--exists", "update"}, tc.flags...)
			l := runStep(t, "local update", nil, nil, append(upd, "--out", local)...)
			r := runStep(t, "universal update, PROCESS workers", nil, logs, append(append(upd, "--out", rem), remote...)...)
			want := "update: neurons 2 new, 1 changed, 0 removed (14 unchanged)"
			for run, out := range map[string]string{"local": l, "remote": r} {
				if line := summaryLine(t, out, "update:"); !strings.HasPrefix(line, want) {
					t.Errorf("%s: %q, want %q…", run, line, want)
				}
			}
			sameTree(t, local, rem)
		})
	}
	if w.started() == 0 {
		t.Errorf("prism started no boot loader")
	}
}
