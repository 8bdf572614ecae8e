package scores

import (
	"encoding/json"
	"math"
	"testing"
)

// A Threshold inside a struct survives JSON bit for bit, ±Inf included
// (a Beam DoFn's fields travel as JSON), and NaN is refused.
func TestThresholdJSON(t *testing.T) {
	type settings struct{ T Threshold }
	for _, v := range []float64{math.Inf(-1), math.Inf(1), 0, -0.25, 1e-300, math.MaxFloat64, -math.MaxFloat64, 0.1} {
		b, err := json.Marshal(settings{Threshold(v)})
		if err != nil {
			t.Fatalf("%v: %v", v, err)
		}
		var got settings
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%v: %s: %v", v, b, err)
		}
		if math.Float64bits(float64(got.T)) != math.Float64bits(v) {
			t.Errorf("%v: through %s, got %v", v, b, got.T)
		}
	}
	if _, err := json.Marshal(settings{Threshold(math.NaN())}); err == nil {
		t.Error("NaN marshalled")
	}
	var got settings
	if err := json.Unmarshal([]byte(`{"T":"inf"}`), &got); err == nil {
		t.Error(`"inf" unmarshalled`)
	}
}
