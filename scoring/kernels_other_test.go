//go:build !amd64

package scoring

import "testing"

// forEachKernel runs f with the only kernels there are: pure Go.
func forEachKernel(t *testing.T, f func(t *testing.T)) { t.Run("go", f) }
