package loadgen

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// arrivalRef is what the recorder needs of a request's arrival.
type arrivalRef struct {
	at time.Duration
	fn int
}

// ledger files each in-flight request's arrival under vegeta's sequence
// number: the transport writes, the recorder takes. It holds only requests
// in flight, never the whole run.
type ledger struct {
	mu sync.Mutex
	m  map[uint64]arrivalRef
}

func (l *ledger) put(seq uint64, a arrivalRef) {
	l.mu.Lock()
	l.m[seq] = a
	l.mu.Unlock()
}

func (l *ledger) take(seq uint64) (arrivalRef, bool) {
	l.mu.Lock()
	a, ok := l.m[seq]
	if ok {
		delete(l.m, seq)
	}
	l.mu.Unlock()
	return a, ok
}

// taggingTransport reads the arrival tag the Targeter set and files it in
// the ledger before the request leaves.
type taggingTransport struct {
	next   http.RoundTripper
	ledger *ledger
}

func (t *taggingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if seq, err := strconv.ParseUint(req.Header.Get(headerSeq), 10, 64); err == nil {
		if a, ok := parseArrivalTag(req.Header.Get(headerArrival)); ok {
			t.ledger.put(seq, a)
		}
	}
	return t.next.RoundTrip(req)
}

func parseArrivalTag(v string) (arrivalRef, bool) {
	at, fn, ok := strings.Cut(v, "/")
	if !ok {
		return arrivalRef{}, false
	}
	a, err1 := strconv.ParseInt(at, 10, 64)
	f, err2 := strconv.Atoi(fn)
	if err1 != nil || err2 != nil {
		return arrivalRef{}, false
	}
	return arrivalRef{at: time.Duration(a), fn: f}, true
}

// errRemote is returned by the dialer for a non-loopback address.
type errRemote struct{ addr string }

func (e errRemote) Error() string {
	return fmt.Sprintf("refusing to connect to %s: not a loopback address (allow remote targets explicitly)", e.addr)
}

// newClient builds the HTTP client for open-loop load: HTTP/1.1 over
// keep-alive connections, as many as requests in flight, which vegeta's
// MaxWorkers bounds (each connection is a file descriptor; unbounded workers
// are how a saturated attack runs out of them). No per-request header
// timer: the client's Timeout covers the whole request already;
// no proxies (loopback must stay loopback), no compression (the generator's
// CPU is the budget), no redirects (one hit is one request). Unless remote
// is allowed, the dialer refuses any address that is not loopback, whatever
// a name resolves to.
//
// When every target is plain http:// (plain), requests go through
// h1Transport instead, which does the same with less CPU per request.
func newClient(timeout time.Duration, conns int, remote, plain bool, l *ledger) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !remote {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return errRemote{address}
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         dialer.DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		// Dials still under way when a request finds an idle connection
		// leave extra connections behind; only a per-host cap keeps the
		// descriptors at conns.
		MaxConnsPerHost:    conns,
		IdleConnTimeout:    90 * time.Second,
		DisableCompression: true,
		ForceAttemptHTTP2:  false,
		TLSNextProto:       map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	c := &http.Client{
		Transport: &taggingTransport{next: tr, ledger: l},
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	if plain {
		// The h1 transport bounds each request by its connection's
		// deadline; Client.Timeout would add a context and a timer per
		// request on top. Its fallback keeps a header timeout.
		tr.ResponseHeaderTimeout = timeout
		c.Transport = &taggingTransport{next: newH1Transport(dialer.DialContext, timeout, tr), ledger: l}
		c.Timeout = 0
	}
	return c
}

// closeIdle releases the client's idle connections after an attack.
func closeIdle(c *http.Client) {
	if t, ok := c.Transport.(*taggingTransport); ok {
		if tr, ok := t.next.(interface{ CloseIdleConnections() }); ok {
			tr.CloseIdleConnections()
		}
	}
}
