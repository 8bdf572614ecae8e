package main

import (
	"strings"
	"testing"
)

// TestHelp: --help lists the NBLAST flags first under their own heading,
// then Beam's; --runner shows its default; Beam's "(required)" says for
// which runner.
func TestHelp(t *testing.T) {
	code, out := runCase(t, binary(t, "."), []string{"--help"})
	if code != 0 {
		t.Errorf("--help exits %d", code)
	}
	nblast, beam := strings.Index(out, "NBLAST flags:"), strings.Index(out, "Beam and runner flags")
	if nblast < 0 || beam < nblast {
		t.Fatalf("no NBLAST heading before the Beam flags:\n%s", out)
	}
	for _, f := range nblastFlags {
		if i := strings.Index(out, "  -"+f+" "); i < nblast || i > beam {
			if j := strings.Index(out, "  -"+f+"\n"); j < nblast || j > beam {
				t.Errorf("-%s is not listed under the NBLAST heading", f)
			}
		}
	}
	for _, f := range []string{"-runner", "-project", "-endpoint", "-worker_binary"} {
		if i := strings.Index(out, "  "+f+" "); i < beam {
			t.Errorf("%s is not listed under the Beam heading", f)
		}
	}
	if !strings.Contains(out, "(default \"prism\")") {
		t.Error("--runner's default (prism) is not shown")
	}
	if strings.Contains(out, "(required)") || !strings.Contains(out, "(required for --runner=dataflow)") {
		t.Error("Beam's \"(required)\" flags do not say for which runner")
	}
	for _, cmd := range []string{"runner inspect", "runner export", "runner synth"} {
		if !strings.Contains(out, cmd) {
			t.Errorf("usage does not show %s", cmd)
		}
	}
}
