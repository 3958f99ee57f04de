package badinput

import (
	"errors"
	"fmt"
	"testing"
)

func TestError(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"file line key", &Error{File: "a.yaml", Line: 3, Key: "traffic", Msg: "want a pattern"}, "a.yaml:3: traffic: want a pattern"},
		{"file only", &Error{File: "a.yaml", Msg: "empty file"}, "a.yaml: empty file"},
		{"key only", &Error{Key: "--max-regress", Msg: "want metric=10%"}, "--max-regress: want metric=10%"},
		{"wrapped", Errorf("--out DIR is required"), "--out DIR is required"},
		{"place and cause", &Error{File: "t.csv", Line: 2, Err: errors.New("bad row")}, "t.csv:2: bad row"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.err.Error(); got != c.want {
				t.Errorf("Error() = %q, want %q", got, c.want)
			}
		})
	}
}

func TestIsThroughWrapping(t *testing.T) {
	cause := errors.New("no such file")
	cases := []struct {
		name string
		err  error
		is   bool
	}{
		{"plain", cause, false},
		{"nil", nil, false},
		{"wrapped", Wrap(cause), true},
		{"wrapped then annotated", fmt.Errorf("sim: %w", Wrap(cause)), true},
		{"errorf keeps the cause", Errorf("run: %w", cause), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Is(c.err); got != c.is {
				t.Errorf("Is(%v) = %v, want %v", c.err, got, c.is)
			}
		})
	}
	if Wrap(nil) != nil {
		t.Error("Wrap(nil) is not nil")
	}
	if !errors.Is(Errorf("run: %w", cause), cause) {
		t.Error("Errorf with %w lost the cause")
	}
	e := Wrap(cause)
	if Wrap(e) != e {
		t.Error("Wrap of a bad-input error wrapped it again")
	}
}
