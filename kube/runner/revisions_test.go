package runner

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/scalebench/scalebench/kube/podwatch"
)

// TestRevisionSeconds: each revision's ready pods come from its own pods'
// lives only, and its share from the split in force at the second's end.
func TestRevisionSeconds(t *testing.T) {
	began := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return began.Add(time.Duration(s * float64(time.Second))) }
	lives := []podwatch.Life{
		{Name: "b1", Labels: map[string]string{RevisionLabel: "web-blue"}, Seen: at(-5), Ready: at(-4), Gone: at(2.5)},
		{Name: "g1", Labels: map[string]string{RevisionLabel: "web-green"}, Seen: at(0.2), Ready: at(0.5)},
		{Name: "g2", Labels: map[string]string{RevisionLabel: "web-green"}, Seen: at(1.2), Ready: at(1.6)},
		{Name: "other", Labels: map[string]string{RevisionLabel: "api"}, Seen: at(-5), Ready: at(-4)},
	}
	routes := []RouteStatus{{Function: "web",
		Revisions: []RevisionStatus{{Name: "blue", Object: "web-blue"}, {Name: "green", Object: "web-green"}},
		Splits:    []SplitChange{{At: 0, Percent: []int{100, 0}}, {At: 1500 * time.Millisecond, Percent: []int{30, 70}}}}}
	var got []string
	RevisionSeconds(began, 3*time.Second, lives, routes, func(sec int64, name string, ready, percent int) {
		got = append(got, fmt.Sprintf("%d %s %d %d%%", sec, name, ready, percent))
	})
	want := []string{
		"0 blue 1 100%", "0 green 1 0%",
		"1 blue 1 30%", "1 green 2 70%",
		"2 blue 0 30%", "2 green 2 70%",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
