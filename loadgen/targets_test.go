package loadgen

import (
	"slices"
	"strings"
	"testing"
)

func TestMapTargets(t *testing.T) {
	fns := []string{"api", "thumb"}
	for _, tc := range []struct {
		name    string
		specs   []string
		want    []string
		wantErr string
	}{
		{"named", []string{"thumb=http://127.0.0.1:2/", "api=http://127.0.0.1:1/"}, []string{"http://127.0.0.1:1/", "http://127.0.0.1:2/"}, ""},
		{"bare fills the rest", []string{"http://127.0.0.1:9/", "thumb=http://127.0.0.1:2/"}, []string{"http://127.0.0.1:9/", "http://127.0.0.1:2/"}, ""},
		{"query with equals is a URL", []string{"http://127.0.0.1:9/?a=b"}, []string{"http://127.0.0.1:9/?a=b", "http://127.0.0.1:9/?a=b"}, ""},
		{"unknown name", []string{"img=http://127.0.0.1:2/"}, nil, `no function "img"`},
		{"twice", []string{"api=http://127.0.0.1:1/", "api=http://127.0.0.1:2/"}, nil, "given twice"},
		{"two bare", []string{"http://127.0.0.1:1/", "http://127.0.0.1:2/"}, nil, "more than one unnamed"},
		{"missing", []string{"api=http://127.0.0.1:1/"}, nil, `no --target for function "thumb"`},
		{"empty name", []string{"=http://127.0.0.1:1/"}, nil, "empty function name"},
		{"no scheme", []string{"api=127.0.0.1:1"}, nil, "http://"},
		{"bad port", []string{"http://127.0.0.1:99999/"}, nil, "port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MapTargets(fns, tc.specs)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestIsLoopbackHost(t *testing.T) {
	for _, tc := range []struct {
		host string
		want bool
	}{
		{"127.0.0.1", true}, {"127.8.9.10", true}, {"::1", true}, {"localhost", true},
		{"LOCALHOST.", true}, {"fn.localhost", true}, {"0.0.0.0", false}, {"10.0.0.1", false},
		{"example.com", false}, {"localhost.example.com", false}, {"", false},
	} {
		t.Run(tc.host, func(t *testing.T) {
			if got := IsLoopbackHost(tc.host); got != tc.want {
				t.Errorf("IsLoopbackHost(%q) = %v", tc.host, got)
			}
		})
	}
}

// FuzzParseTarget: any --target value is either refused or yields an
// http(s) URL that MapTargets accepts for a function of that name.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:8080/", "api=http://127.0.0.1:1/x?work=1s", "=x", "a=b=c", "http://[::1]:0/", "https://localhost"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, u, err := ParseTarget(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			t.Fatalf("ParseTarget(%q) accepted %q", s, u)
		}
		fn := name
		if fn == "" {
			fn = "only"
		}
		urls, err := MapTargets([]string{fn}, []string{s})
		if err != nil || len(urls) != 1 || urls[0] != u {
			t.Fatalf("MapTargets of accepted %q: %v, %v", s, urls, err)
		}
	})
}

// FuzzParseArrivalTag: the transport never panics on a tag and reads back
// what the Targeter writes.
func FuzzParseArrivalTag(f *testing.F) {
	f.Add("123/0")
	f.Add("-5/x")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		a, ok := parseArrivalTag(s)
		if ok && a.fn < 0 && !strings.Contains(s, "-") {
			t.Fatalf("parseArrivalTag(%q) = %+v", s, a)
		}
	})
}

func TestParseHeader(t *testing.T) {
	cases := []struct {
		in, name, value string
		ok              bool
	}{
		{"Host: api.ns.kind.local", "Host", "api.ns.kind.local", true},
		{"x-trace:  1 ", "X-Trace", "1", true},
		{"NoColon", "", "", false},
		{": empty name", "", "", false},
		{"Bad Name: v", "", "", false},
		{"X: a\r\nInjected: 1", "", "", false},
	}
	for _, c := range cases {
		name, value, err := ParseHeader(c.in)
		if (err == nil) != c.ok || name != c.name || value != c.value {
			t.Errorf("ParseHeader(%q) = %q, %q, %v", c.in, name, value, err)
		}
	}
}
