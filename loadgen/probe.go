package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// ProbePath times n zero-work requests to a pod directly and the same
// number through the platform's request path (activator and queue-proxy),
// alternating, after one warm-up request to each, so that both series see
// the same machine at the same moments and their difference is the path's
// own overhead. calibrate measures every real backend this way.
func ProbePath(ctx context.Context, directURL, proxiedURL string, n int) (direct, proxied []time.Duration, err error) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	defer client.CloseIdleConnections()
	get := func(url string) (time.Duration, error) {
		start := time.Now()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("%s: status %d", url, resp.StatusCode)
		}
		return time.Since(start), nil
	}
	urls := []string{directURL, proxiedURL}
	// Warm both connections first.
	for _, u := range urls {
		if _, err := get(u); err != nil {
			return nil, nil, err
		}
	}
	for i := 0; i < n; i++ {
		for j, u := range urls {
			d, err := get(u)
			if err != nil {
				return nil, nil, err
			}
			if j == 0 {
				direct = append(direct, d)
			} else {
				proxied = append(proxied, d)
			}
		}
	}
	return direct, proxied, nil
}
