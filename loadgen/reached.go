package loadgen

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/scalebench/scalebench/results"
)

// Reached is an error when requests were sent and not one got an HTTP
// answer (every one failed with a connection error such as
// connection_refused, or was still unanswered when the run ended): the
// target is most likely not running, or stuck, and a summary of nothing but
// errors should not pass for a measurement.
func Reached(sum *results.Summary) error {
	if sum.Requests > 0 && transportErrors(sum.Errors) == sum.Requests {
		return fmt.Errorf("no request got an answer from the target (%s); is it running?", describeErrors(sum.Errors))
	}
	return nil
}

// transportErrors counts the requests that got no HTTP answer at all: error
// classes such as connection_refused, as opposed to status codes.
func transportErrors(errs map[string]int64) int64 {
	var n int64
	for k, v := range errs {
		if _, err := strconv.Atoi(k); err != nil {
			n += v
		}
	}
	return n
}

func describeErrors(errs map[string]int64) string {
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", errs[k], k)
	}
	return strings.Join(parts, ", ")
}
