package loadgen

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The h1 transport against real servers: connections are reused, closed
// when the server says so, re-dialled when the server dropped them while
// idle, and bounded by the timeout.
func TestH1Transport(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		method  string
		n       int
		timeout time.Duration
		// between runs after each request (e.g. the server dropping
		// its connections).
		between func(*httptest.Server)
		body    string
		maxConn int    // most connections the server may see
		minConn int    // fewest
		errPart string // every request fails with this in its error
	}{
		{name: "keep-alive reuse", n: 50, body: "ok", maxConn: 1, minConn: 1,
			handler: func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }},
		{name: "connection close", n: 5, body: "bye", maxConn: 5, minConn: 5,
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Connection", "close")
				io.WriteString(w, "bye")
			}},
		{name: "chunked body", n: 5, body: "part1part2", maxConn: 1, minConn: 1,
			handler: func(w http.ResponseWriter, _ *http.Request) {
				io.WriteString(w, "part1")
				w.(http.Flusher).Flush()
				io.WriteString(w, "part2")
			}},
		{name: "head", method: "HEAD", n: 5, body: "", maxConn: 1, minConn: 1,
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Length", "2")
			}},
		{name: "server drops idle connections", n: 5, body: "ok", maxConn: 5, minConn: 5,
			handler: func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") },
			between: func(s *httptest.Server) { s.CloseClientConnections() }},
		{name: "timeout", n: 2, timeout: 100 * time.Millisecond, errPart: "timeout", maxConn: 2, minConn: 1,
			handler: func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-time.After(2 * time.Second):
				case <-r.Context().Done():
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			conns := map[string]bool{}
			srv := httptest.NewUnstartedServer(tc.handler)
			srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
				if s == http.StateNew {
					mu.Lock()
					conns[c.RemoteAddr().String()] = true
					mu.Unlock()
				}
			}
			srv.Start()
			defer srv.Close()
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			c := newClient(timeout, 4, false, true, &ledger{m: map[uint64]arrivalRef{}}, nil)
			defer closeIdle(c)
			if _, ok := c.Transport.(*taggingTransport).next.(*h1Transport); !ok {
				t.Fatal("plain client does not use the h1 transport")
			}
			method := tc.method
			if method == "" {
				method = "GET"
			}
			for i := 0; i < tc.n; i++ {
				req, err := http.NewRequest(method, srv.URL+"/x?work=1ms", nil)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := c.Do(req)
				if tc.errPart != "" {
					if err == nil {
						resp.Body.Close()
					}
					if err == nil || !strings.Contains(err.Error(), tc.errPart) || errorKey(0, err.Error()) != tc.errPart {
						t.Fatalf("request %d: err = %v, want one with %q", i, err, tc.errPart)
					}
					continue
				}
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(b) != tc.body || resp.StatusCode != 200 {
					t.Fatalf("request %d: status %d body %q err %v, want 200 %q", i, resp.StatusCode, b, err, tc.body)
				}
				if tc.between != nil {
					tc.between(srv)
				}
			}
			mu.Lock()
			n := len(conns)
			mu.Unlock()
			if n > tc.maxConn || n < tc.minConn {
				t.Errorf("server saw %d connections, want %d to %d", n, tc.minConn, tc.maxConn)
			}
		})
	}
}

// Transport failures fall into a small fixed set of summary keys.
func TestErrorKey(t *testing.T) {
	for _, tc := range []struct {
		name, msg string
		status    int
		want      string
	}{
		{"status", "", 503, "503"},
		{"deadline", "Get \"http://127.0.0.1:1/\": read tcp 127.0.0.1:5->127.0.0.1:1: i/o timeout", 0, "timeout"},
		{"refused", "dial tcp 127.0.0.1:1: connect: connection refused", 0, "connection_refused"},
		{"reset", "read: connection reset by peer", 0, "connection_reset"},
		{"eof", "unexpected EOF", 0, "connection_reset"},
		{"descriptors", "dial tcp: socket: too many open files", 0, "too_many_open_files"},
		{"ports", "dial tcp 127.0.0.1:0->127.0.0.1:80: connect: cannot assign requested address", 0, "no_free_ports"},
		{"remote", errRemote{"10.0.0.1:80"}.Error(), 0, "refused_remote"},
		{"unknown", "something else", 0, "other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errorKey(tc.status, tc.msg); got != tc.want {
				t.Errorf("errorKey(%d, %q) = %q, want %q", tc.status, tc.msg, got, tc.want)
			}
		})
	}
}
