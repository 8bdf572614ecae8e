package results

import (
	"context"
	"fmt"

	"github.com/nblast-go/nblast/sinks"
)

// Verify decodes every part or chunk of the output that is there and,
// for parts, counts their rows against the manifest: a file damaged after
// it was written (altered or truncated) makes the output damaged, the file
// named in the error (Check's verdict, with the cause). A damaged output
// by Check's names and counts fails before any decoding; an unfinished
// one is verified as far as it is written (nil if that decodes).
func (s *Source) Verify(ctx context.Context) error {
	st, why, err := s.Status(ctx)
	if err != nil {
		return err
	}
	if st == Damaged {
		return s.verdict(st, why)
	}
	if s.Parts != nil {
		var rows int64
		count := func(int) error { rows++; return nil }
		var err error
		if s.Parts.Kind == "sparse" {
			err = sinks.EachSparseRowBits(ctx, s.Parts.Dir, func(_ sinks.SparseRow, bits int) error { return count(bits) })
		} else {
			err = sinks.EachTopKRowBits(ctx, s.Parts.Dir, func(_ sinks.TopKRow, bits int) error { return count(bits) })
		}
		if err != nil {
			return s.damagedBy(err)
		}
		if m := s.Parts.Manifest; m != nil && m.Complete && rows != m.Rows {
			return s.verdict(Damaged, fmt.Sprintf("its parts hold %d rows, %s counts %d", rows, sinks.ManifestName, m.Rows))
		}
		return nil
	}
	z := s.Z
	for i := 0; i < z.Shape[0]; i += z.Chunks[0] {
		for j := 0; j < z.Shape[1]; j += z.Chunks[1] {
			if !s.Written[[2]int{i / z.Chunks[0], j / z.Chunks[1]}] {
				continue // not written: an unfinished run
			}
			if _, err := z.Read(ctx, i, min(i+z.Chunks[0], z.Shape[0]), j, min(j+z.Chunks[1], z.Shape[1])); err != nil {
				return s.damagedBy(err)
			}
		}
	}
	return nil
}

// damagedBy is the verdict on an output one of whose files failed to
// decode (err names the file and says what to do).
func (s *Source) damagedBy(err error) error {
	where, what := s.where()
	return fmt.Errorf("%s: %s is damaged: %w", where, what, err)
}
