package scores

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Threshold is a score cut as it travels from the flags to the kernel
// inside a job's settings (a Beam DoFn's fields are JSON): JSON numbers
// cannot hold ±Inf, so it marshals -Inf and +Inf as the strings "-Inf" and
// "+Inf" and every finite value as a number, and unmarshals both. NaN is
// refused (a threshold is checked before the job: pipeline.Options).
type Threshold float64

// MarshalJSON is the number, or "-Inf" / "+Inf".
func (t Threshold) MarshalJSON() ([]byte, error) {
	v := float64(t)
	switch {
	case math.IsNaN(v):
		return nil, fmt.Errorf("threshold NaN: want a score or ±Inf")
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// UnmarshalJSON takes what MarshalJSON writes.
func (t *Threshold) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		switch s {
		case "-Inf":
			*t = Threshold(math.Inf(-1))
		case "+Inf":
			*t = Threshold(math.Inf(1))
		default:
			return fmt.Errorf("threshold %q: want a number, \"-Inf\" or \"+Inf\"", s)
		}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("threshold %s: %w", b, err)
	}
	*t = Threshold(v)
	return nil
}
