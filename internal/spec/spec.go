// Package spec splits the "kind:key=value,key=value" specs that patterns,
// traces and distributions are written in, on the command line and in
// scenario files alike.
package spec

import (
	"fmt"
	"slices"
	"strings"
)

// Values holds a spec's key=value pairs.
type Values map[string]string

// KeyValues splits "k=v,k=v", rejecting unknown and repeated keys so that a
// typo never silently falls back to a default.
func KeyValues(args string, known ...string) (Values, error) {
	kv := Values{}
	if strings.TrimSpace(args) == "" {
		return kv, nil
	}
	for _, f := range strings.Split(args, ",") {
		k, v, ok := strings.Cut(f, "=")
		k = strings.TrimSpace(k)
		if !ok {
			return nil, fmt.Errorf("%q: want key=value", f)
		}
		if !slices.Contains(known, k) {
			return nil, fmt.Errorf("unknown parameter %q: want one of %s", k, strings.Join(known, ", "))
		}
		if _, dup := kv[k]; dup {
			return nil, fmt.Errorf("%s: given twice", k)
		}
		kv[k] = strings.TrimSpace(v)
	}
	return kv, nil
}
