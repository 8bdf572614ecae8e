package scoring

// ScoreGroupOne is scoreGroup for q's first point against t's first at
// squared distance d2.
func ScoreGroupOne(s *Scorer, q, t *Neuron, d2 float64) float64 {
	return s.scoreGroup(0, q, t, 0, []int32{0}, []float64{d2})
}
