package results

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/nblast-go/nblast/internal/files"
	"github.com/nblast-go/nblast/sinks"
)

// Criterion is navis.nbl.extract_matches' N, threshold or percentage.
type Criterion struct {
	Mode  string // "n", "threshold" or "percentage"
	N     int
	Value float64
}

func (c Criterion) String() string {
	switch c.Mode {
	case "n":
		return fmt.Sprintf("the %d best targets", c.N)
	case "threshold":
		return fmt.Sprintf("targets scoring >= %v", c.Value)
	}
	return fmt.Sprintf("targets within %v (a fraction) of the best score", c.Value)
}

// Match is one row of the long matches table (rank 1 = best): a top-k
// output's row.
type Match = sinks.TopKRow

// ExtractMatches is navis.nbl.extract_matches (axis=0, similarities) on
// a hit table, in long form: per query its targets best first (ties:
// smaller target id), rank 1, 2, ...
//
//   - n: the n best targets (fewer if the query has fewer scores);
//   - threshold: every target scoring >= value;
//   - percentage: every target scoring >= best - |best × value|, best
//     being the query's best score (value a fraction, 0.05 = 5%).
//
// The query itself is left out of its targets unless self (navis keeps
// the diagonal: self = true is navis' result; without it the best score
// of percentage mode is the best other target's). A sparse or top-k
// output holds only some scores: a Criterion that would need scores it
// does not hold is an error; notes says where the answer is short only
// because there are no more scores (a sparse query with fewer than n rows).
func ExtractMatches(t *Hits, c Criterion, self bool) (rows []Match, notes []string, err error) {
	what := t.Source.Name()
	if c.Mode == "n" && t.Kind == "dense" && c.N > t.Targets {
		return nil, nil, fmt.Errorf("--n %d: %s has only %d targets (navis: cannot extract N=%d matches from only %d candidates)", c.N, what, t.Targets, c.N, t.Targets)
	}
	if c.Mode == "threshold" && c.Value < t.Floor {
		return nil, nil, fmt.Errorf("--threshold %v: %s holds only scores >= %v (its run's --threshold): a lower threshold needs a run with a lower --threshold, or a dense output", c.Value, what, t.Floor)
	}
	short, cutLow := 0, 0
	var cannot []string
	for _, q := range t.Queries {
		all := t.Lists[q]
		l := all
		if !self {
			l = slices.DeleteFunc(slices.Clone(all), func(h Hit) bool { return h.Target == q })
		}
		// full: a top-k list holding k rows (and not every target), so
		// targets it does not hold may score up to its last score.
		full := t.Kind == "top-k" && len(all) >= t.K && len(all) > 0 && (t.Targets == 0 || len(all) < t.Targets)
		var keep []Hit
		switch c.Mode {
		case "n":
			keep = l[:min(c.N, len(l))]
			if len(keep) < c.N {
				if full {
					cannot = append(cannot, q.String())
				} else {
					short++
				}
			}
		case "threshold", "percentage":
			cut := c.Value
			if c.Mode == "percentage" {
				if len(l) == 0 {
					continue
				}
				best := l[0].Score
				cut = best - math.Abs(best*c.Value)
				if cut < t.Floor {
					cutLow++
					continue
				}
			}
			n := 0
			for n < len(l) && l[n].Score >= cut {
				n++
			}
			keep = l[:n]
			if full && all[len(all)-1].Score >= cut {
				cannot = append(cannot, q.String())
			}
		}
		for r, h := range keep {
			rows = append(rows, Match{Query: q, Rank: r + 1, Target: h.Target, Score: h.Score})
		}
	}
	if len(cannot) > 0 {
		most := t.K
		if !self {
			most-- // the query itself is among its k (in an all-by-all)
		}
		return nil, nil, fmt.Errorf("%s holds only the %d best targets per query (its run's --topk), too few to answer %s for %d queries (first: %s): use --n %d or less, a higher --threshold or --percentage cut, or a sparse or dense output",
			what, t.K, c, len(cannot), cannot[0], max(most, 1))
	}
	if cutLow > 0 {
		return nil, nil, fmt.Errorf("--percentage %v: for %d queries the cut (best - |best × %v|) falls below %v, the lowest score %s holds (its run's --threshold): use a smaller --percentage, or a dense output",
			c.Value, cutLow, c.Value, t.Floor, what)
	}
	if short > 0 {
		why := "fewer scored targets"
		if t.Kind != "dense" {
			why = fmt.Sprintf("fewer targets scoring >= %v (the run's --threshold) in %s; the others score lower and are not in it", t.Floor, what)
		}
		notes = append(notes, fmt.Sprintf("%d of %d queries have fewer than %d matches: %s", short, len(t.Queries), c.N, why))
	}
	return rows, notes, nil
}

// ParseCriterion takes one of --n, --threshold, --percentage (none: --n 10).
func ParseCriterion(n int, threshold, percentage string) (Criterion, error) {
	given := 0
	for _, g := range []bool{n != 0, threshold != "", percentage != ""} {
		if g {
			given++
		}
	}
	if given > 1 {
		return Criterion{}, errors.New("give one of --n, --threshold and --percentage")
	}
	switch {
	case threshold != "":
		v, err := strconv.ParseFloat(threshold, 64)
		if err != nil || math.IsNaN(v) {
			return Criterion{}, fmt.Errorf("--threshold %q: want a number", threshold)
		}
		return Criterion{Mode: "threshold", Value: v}, nil
	case percentage != "":
		v, err := strconv.ParseFloat(percentage, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return Criterion{}, fmt.Errorf("--percentage %q: want a fraction >= 0 (0.05 = within 5%% of the best score)", percentage)
		}
		return Criterion{Mode: "percentage", Value: v}, nil
	case n < 0:
		return Criterion{}, fmt.Errorf("--n %d: want at least 1", n)
	case n == 0:
		n = 10
	}
	return Criterion{Mode: "n", N: n}, nil
}

// WriteMatches writes the matches table (runner matches --to) to p (local
// or gs://) as CSV or Parquet (format "csv" or "parquet"; Parquet in the
// layout of a top-k file), scores at bits (32 or 64) precision, through
// files.Create: p appears whole, or not at all.
func WriteMatches(ctx context.Context, p, format string, rows []Match, bits int) (err error) {
	f, err := files.Create(ctx, p)
	if err != nil {
		return fmt.Errorf("--to %s: %w", p, err)
	}
	defer func() {
		if err != nil {
			f.Abort()
			err = fmt.Errorf("--to %s: %w (nothing written)", p, err)
		}
	}()
	if format == "csv" {
		bw := bufio.NewWriter(f)
		cw := csv.NewWriter(bw)
		if err := cw.Write([]string{"query", "rank", "target", "score"}); err != nil {
			return err
		}
		for _, r := range rows {
			if err := cw.Write([]string{r.Query.String(), strconv.Itoa(r.Rank), r.Target.String(), strconv.FormatFloat(r.Score, 'g', -1, bits)}); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if err := bw.Flush(); err != nil {
			return err
		}
	} else {
		qStr, tStr := false, false
		if len(rows) > 0 {
			qStr, tStr = rows[0].Query.IsStr, rows[0].Target.IsStr
		}
		data, err := sinks.EncodeRankedRows(rows, qStr, tStr, bits == 64)
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			return err
		}
	}
	return f.Commit()
}
