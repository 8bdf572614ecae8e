package files

import (
	"encoding/json"
	"testing"
)

func TestMarshalJSONIsASCII(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{map[string]any{"direction": "query→target"}, "{\n    \"direction\": \"query\\u2192target\"\n}\n"},
		{[]string{"KC-γ-1", "a<b", "😀"}, "[\n    \"KC-\\u03b3-1\",\n    \"a<b\",\n    \"\\ud83d\\ude00\"\n]\n"},
		{map[string]int{"b": 2, "a": 1}, "{\n    \"a\": 1,\n    \"b\": 2\n}\n"},
	} {
		b, err := MarshalJSON(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("MarshalJSON(%v) = %q, want %q", tc.in, b, tc.want)
		}
		for i, c := range b {
			if c >= 0x80 {
				t.Fatalf("byte %d of %q is not ASCII", i, b)
			}
		}
		// Every reader decodes the escapes back to the same value.
		var back any
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		orig, _ := json.Marshal(tc.in)
		again, _ := json.Marshal(back)
		if string(orig) != string(again) {
			t.Errorf("round trip: %s != %s", again, orig)
		}
	}
}
