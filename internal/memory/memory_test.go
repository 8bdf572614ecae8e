package memory

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		err  string
	}{
		{"4GiB", 4 << 30, ""},
		{"3.5GB", 3500000000, ""},
		{"512MiB", 512 << 20, ""},
		{" 2 gib ", 2 << 30, ""},
		{"1073741824", 1 << 30, ""},
		{"32MiB", 0, "below the least"},
		{"-1GB", 0, "want a size"},
		{"lots", 0, "want a size"},
		{"NaNGB", 0, "want a size"},
		{"1e30TB", 0, "too large"},
	} {
		got, err := Parse(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !strings.HasPrefix(err.Error(), "--memory") {
				t.Errorf("Parse(%q) = %d, %v; want an error about %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
}

func TestEffective(t *testing.T) {
	if got := Effective(0); got > Default || got < Min {
		t.Errorf("Effective(0) = %d, want the default %d or less", got, Default)
	}
	if total := total(); total > 0 {
		if got := Effective(1 << 60); uint64(got) > total {
			t.Errorf("Effective(2^60) = %d, above the machine's %d", got, total)
		}
	}
	if got := Effective(Min); got != Min {
		t.Errorf("Effective(%d) = %d", Min, got)
	}
}
