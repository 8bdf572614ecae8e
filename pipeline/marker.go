package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/nblast-go/nblast/dotprops"
	"github.com/nblast-go/nblast/internal/files"
)

// The run marker (sinks.RunMarkerName) is written to OUT before any work:
// the run's parameters, a digest of each input file's neurons and the
// fingerprint of both, for --exists and resume, whatever the sink.

// marker is the run marker's content.
type marker struct {
	Fingerprint string         `json:"fingerprint"`
	Parameters  map[string]any `json:"parameters"`
	// Inputs holds, per side ("queries", "targets"), a summary of each
	// input file's neurons. Absent in markers of older versions.
	Inputs map[string]map[string]inputSummary `json:"inputs,omitempty"`
}

// inputSummary is what the marker records of one input file.
type inputSummary struct {
	Neurons int    `json:"neurons"`
	Points  int    `json:"points"`
	Digest  string `json:"digest"` // of its neurons' ids, point counts, centroids and boxes
}

func (j *Job) marker() marker {
	m := marker{Fingerprint: j.fingerprint(), Parameters: j.parameters(), Inputs: map[string]map[string]inputSummary{
		"queries": summarise(j.Plan.Queries)}}
	if !j.Options.AllByAll() {
		m.Inputs["targets"] = summarise(j.Plan.Targets)
	}
	return m
}

// summarise digests the neurons of each file, in id order (the plan's
// order depends on the block size, which is a parameter of its own).
func summarise(ns []dotprops.NeuronInfo) map[string]inputSummary {
	byFile := map[string][]dotprops.NeuronInfo{}
	for _, n := range ns {
		byFile[n.File] = append(byFile[n.File], n)
	}
	out := map[string]inputSummary{}
	for f, list := range byFile {
		sort.Slice(list, func(a, b int) bool { return list[a].ID.String() < list[b].ID.String() })
		h := sha256.New()
		s := inputSummary{Neurons: len(list)}
		for _, n := range list {
			s.Points += n.Points
			fmt.Fprintf(h, "%s %t %d %v %v %v\n", n.ID, n.ID.IsStr, n.Points, n.Centroid, n.Min, n.Max)
		}
		s.Digest = hex.EncodeToString(h.Sum(nil))[:16]
		out[f] = s
	}
	return out
}

// checkMarker reads the run marker of a resumed output and fails, naming
// each option and input that differ, unless this run is the one that
// made it.
func (j *Job) checkMarker(ctx context.Context, p string) error {
	raw, err := files.ReadFile(ctx, p)
	if err != nil {
		return fmt.Errorf("--exists resume: %w", err)
	}
	var prev marker
	if err := json.Unmarshal(raw, &prev); err != nil {
		return fmt.Errorf("--exists resume: %s: %w", p, err)
	}
	now := j.marker()
	if prev.Fingerprint == now.Fingerprint {
		return nil
	}
	diffs := diffParameters(prev.Parameters, now.Parameters)
	if prev.Inputs != nil {
		diffs = append(diffs, diffInputs(prev.Inputs, now.Inputs)...)
	}
	if len(diffs) == 0 {
		diffs = []string{"the input neurons changed (ids, point counts or positions)"}
	}
	return fmt.Errorf("--exists resume: %s was made by a different run: %s; rerun with the earlier inputs and options to finish it, or use --exists overwrite (or another --out) to start anew",
		j.Options.Out, strings.Join(diffs, "; "))
}

// flagOf names the flag behind a recorded parameter.
func flagOf(key string) string {
	switch key {
	case "all_by_all":
		return "all-by-all (--targets omitted)"
	case "version":
		return "the tool's version"
	}
	return "--" + key
}

// diffParameters lists the parameters that differ, as "--threshold was 0,
// now 0.2".
func diffParameters(prev, now map[string]any) []string {
	// Compare as JSON: prev was decoded from it, now is about to be.
	norm := func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	}
	nowJSON := map[string]any{}
	b, _ := json.Marshal(now)
	json.Unmarshal(b, &nowJSON)
	keys := map[string]bool{}
	for k := range prev {
		keys[k] = true
	}
	for k := range nowJSON {
		keys[k] = true
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		a, b := prev[k], nowJSON[k]
		if norm(a) != norm(b) {
			out = append(out, fmt.Sprintf("%s was %s, now %s", flagOf(k), shown(a), shown(b)))
		}
	}
	return out
}

func shown(v any) string {
	if v == nil {
		return "unset"
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// diffInputs lists the input files added, removed or changed, per side.
func diffInputs(prev, now map[string]map[string]inputSummary) []string {
	var out []string
	for _, side := range []string{"queries", "targets"} {
		a, b := prev[side], now[side]
		for _, f := range slices.Sorted(maps.Keys(a)) {
			if _, ok := b[f]; !ok {
				out = append(out, fmt.Sprintf("--%s: %s is no longer an input", side, f))
			} else if a[f] != b[f] {
				out = append(out, fmt.Sprintf("--%s: %s changed (%d neurons and %d points before, %d and %d now)", side, f, a[f].Neurons, a[f].Points, b[f].Neurons, b[f].Points))
			}
		}
		for _, f := range slices.Sorted(maps.Keys(b)) {
			if _, ok := a[f]; !ok {
				out = append(out, fmt.Sprintf("--%s: %s is a new input", side, f))
			}
		}
	}
	return out
}
