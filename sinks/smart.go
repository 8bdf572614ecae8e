package sinks

import (
	"context"
	"fmt"

	"github.com/nblast-go/nblast/zarr"
)

// MaskArray is the Zarr array of a --smart run that says which scores are
// exact (true) and which are the pre-score on downsampled dotprops
// (false): navis.nblast_smart's return_mask. Its dtype is bool ("|b1"),
// which zarr-python reads as a numpy bool array.
const MaskArray = "smart_mask"

// SmartAttrs are the attributes a complete --smart result records in
// OUT/smart_mask/.zattrs and OUT/scores/.zattrs: the cells rescored
// exactly, all cells, and their ratio.
const (
	AttrRescored = "smart_rescored"
	AttrCells    = "smart_cells"
	AttrFraction = "smart_fraction_rescored"
)

// maskValues converts a chunk's mask to the values zarr.EncodeChunk takes.
func maskValues(m []bool) []float64 {
	v := make([]float64, len(m))
	for i, b := range m {
		if b {
			v[i] = 1
		}
	}
	return v
}

// CountMask counts the true cells of the mask array at out, reading it a
// chunk row at a time (every chunk must be written).
func CountMask(ctx context.Context, out string) (rescored, cells int64, err error) {
	z, err := zarr.Open(ctx, out, MaskArray)
	if err != nil {
		return 0, 0, err
	}
	for r0 := 0; r0 < z.Shape[0]; r0 += z.Chunks[0] {
		r1 := min(z.Shape[0], r0+z.Chunks[0])
		vals, err := z.Read(ctx, r0, r1, 0, z.Shape[1])
		if err != nil {
			return 0, 0, err
		}
		for _, v := range vals {
			if v == 1 {
				rescored++
			}
		}
		cells += int64(len(vals))
	}
	return rescored, cells, nil
}

// recordSmartCounts counts the mask (after every chunk is written, so on a
// resumed run too) and adds SmartAttrs to the scores' and the mask's
// attributes.
func recordSmartCounts(ctx context.Context, out string, mask zarr.ArraySpec) error {
	rescored, cells, err := CountMask(ctx, out)
	if err != nil {
		return fmt.Errorf("count %s: %w", MaskArray, err)
	}
	frac := 0.0
	if cells > 0 {
		frac = float64(rescored) / float64(cells)
	}
	for _, name := range []string{ScoresArray, MaskArray} {
		attrs, err := zarr.ReadAttrs(ctx, out, name)
		if err != nil {
			return fmt.Errorf("record smart counts: %w", err)
		}
		attrs[AttrRescored], attrs[AttrCells], attrs[AttrFraction] = rescored, cells, frac
		if err := zarr.WriteAttrs(ctx, out, name, attrs); err != nil {
			return err
		}
	}
	return nil
}
