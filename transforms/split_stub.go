package transforms

import (
	"context"

	"github.com/nblast-go/nblast/scoring"
)

// TEMPORARY until the index-fast branch lands.
func ReadDotpropsRowGroups(ctx context.Context, path string, first, n int, opt ReadOptions) ([]*scoring.Dotprops, error) {
	if first > 0 {
		return nil, nil
	}
	return ReadDotpropsFile(ctx, path, opt)
}
