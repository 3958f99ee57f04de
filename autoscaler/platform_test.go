package autoscaler

import (
	"slices"
	"testing"
)

func TestScaleDownOrder(t *testing.T) {
	cases := []struct {
		name string
		pods []PodState
		want []int64 // Seq, first to go first
	}{
		{"starting before ready", []PodState{{Ready: true, Seq: 1}, {Ready: false, Seq: 2}}, []int64{2, 1}},
		{"starting pods newest first", []PodState{{Seq: 1}, {Seq: 3}, {Seq: 2}}, []int64{3, 2, 1}},
		{"least busy first", []PodState{{Ready: true, InFlight: 3, Seq: 1}, {Ready: true, InFlight: 1, Seq: 2}, {Ready: true, InFlight: 2, Seq: 3}}, []int64{2, 3, 1}},
		{"equal load, newest first", []PodState{{Ready: true, InFlight: 1, Seq: 4}, {Ready: true, InFlight: 1, Seq: 9}}, []int64{9, 4}},
		{"a busy starting pod cannot exist, but readiness still wins", []PodState{{Ready: true, Seq: 1}, {Ready: false, InFlight: 5, Seq: 2}}, []int64{2, 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pods := slices.Clone(c.pods)
			slices.SortFunc(pods, ScaleDownOrder)
			for i, p := range pods {
				if p.Seq != c.want[i] {
					t.Fatalf("order %v, want seqs %v", pods, c.want)
				}
			}
		})
	}
}
