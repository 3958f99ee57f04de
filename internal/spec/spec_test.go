package spec

import (
	"strings"
	"testing"
)

func TestKeyValues(t *testing.T) {
	cases := []struct {
		name, args, err string
		want            Values
	}{
		{"empty", "  ", "", Values{}},
		{"pairs trimmed", " rate = 10 , over=5m", "", Values{"rate": "10", "over": "5m"}},
		{"missing equals", "rate", `"rate": want key=value`, nil},
		{"unknown key", "rat=1", `unknown parameter "rat": want one of rate, over`, nil},
		{"repeated key", "rate=1,rate=2", "rate: given twice", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := KeyValues(c.args, "rate", "over")
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil || len(got) != len(c.want) {
				t.Fatalf("got %v, %v; want %v", got, err, c.want)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}
