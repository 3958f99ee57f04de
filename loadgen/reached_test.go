package loadgen

import (
	"strings"
	"testing"

	"github.com/scalebench/scalebench/results"
)

func TestReached(t *testing.T) {
	cases := []struct {
		name   string
		sum    results.Summary
		reason string // in the error; "" = reached
	}{
		{"all refused", results.Summary{Requests: 3, Errors: map[string]int64{"connection_refused": 3}}, "3 connection_refused"},
		{"two kinds of transport error", results.Summary{Requests: 3, Errors: map[string]int64{"timeout": 1, "connection_refused": 2}}, "2 connection_refused, 1 timeout"},
		{"all unanswered at the end", results.Summary{Requests: 3, Errors: map[string]int64{errUnfinished: 3}}, "3 unfinished"},
		{"status codes are answers", results.Summary{Requests: 3, Errors: map[string]int64{"500": 3}}, ""},
		{"some got through", results.Summary{Requests: 3, Completed: 1, Errors: map[string]int64{"connection_refused": 2}}, ""},
		{"nothing sent", results.Summary{}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Reached(&c.sum)
			switch {
			case c.reason == "" && err != nil:
				t.Errorf("err = %v, want none", err)
			case c.reason != "" && (err == nil || !strings.Contains(err.Error(), c.reason)):
				t.Errorf("err = %v, want one naming %q", err, c.reason)
			}
		})
	}
}
