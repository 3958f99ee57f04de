package loadgen

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// arrivalRef is what the recorder needs of a request's arrival.
type arrivalRef struct {
	at   time.Duration
	fn   int
	sent time.Time // when the request reached the transport
}

// ledger files each in-flight request's arrival under vegeta's sequence
// number: the transport writes, the recorder takes. It holds only requests
// in flight, never the whole run. Once cut, it lets no request out: the
// entries left are the requests the run ended without an answer to.
type ledger struct {
	mu  sync.Mutex
	m   map[uint64]arrivalRef
	cut bool
}

// put files a request about to leave; false means the run is over and it
// must not.
func (l *ledger) put(seq uint64, a arrivalRef) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		return false
	}
	l.m[seq] = a
	return true
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

// over reports whether the run has been cut off.
func (l *ledger) over() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cut
}

// pending is a request left in the ledger at the cut.
type pending struct {
	seq uint64
	arrivalRef
}

// cutOff stops all further sends and returns the requests still in flight,
// in send order.
func (l *ledger) cutOff() []pending {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = true
	out := make([]pending, 0, len(l.m))
	for seq, a := range l.m {
		out = append(out, pending{seq, a})
	}
	l.m = map[uint64]arrivalRef{}
	slices.SortFunc(out, func(a, b pending) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

// errRunOver is returned for a request that would leave after the run was
// cut off; its result is never recorded.
var errRunOver = errors.New("loadgen: the run is over")

// taggingTransport reads the arrival tag the Targeter set and files it in
// the ledger before the request leaves.
type taggingTransport struct {
	next   http.RoundTripper
	ledger *ledger
}

func (t *taggingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	seq, err := strconv.ParseUint(req.Header.Get(headerSeq), 10, 64)
	a, ok := parseArrivalTag(req.Header.Get(headerArrival))
	if err == nil && ok {
		a.sent = time.Now()
		if !t.ledger.put(seq, a) {
			return nil, errRunOver
		}
	} else if t.ledger.over() {
		return nil, errRunOver
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
//
// Every connection is dialled through cs (unless nil), so the end of a run
// can close those still busy.
func newClient(timeout time.Duration, conns int, remote, plain bool, l *ledger, cs *connSet) *http.Client {
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
	dial := dialer.DialContext
	if cs != nil {
		dial = cs.wrap(dial)
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         dial,
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
		c.Transport = &taggingTransport{next: newH1Transport(dial, timeout, tr), ledger: l}
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

type dialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

// connSet is every connection an attack has open, so the end of a run can
// cut off the requests still in flight at once, on either transport:
// vegeta's requests carry no context to cancel, and a stuck request would
// otherwise hold its worker (and its descriptor) until its timeout.
type connSet struct {
	mu   sync.Mutex
	open map[*trackedConn]struct{}
	shut bool
}

func newConnSet() *connSet { return &connSet{open: map[*trackedConn]struct{}{}} }

func (s *connSet) wrap(dial dialFunc) dialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := &trackedConn{Conn: c, set: s}
		s.mu.Lock()
		if s.shut {
			s.mu.Unlock()
			c.Close()
			return nil, errRunOver
		}
		s.open[tc] = struct{}{}
		s.mu.Unlock()
		return tc, nil
	}
}

// closeAll closes every connection open and refuses new ones.
func (s *connSet) closeAll() {
	s.mu.Lock()
	s.shut = true
	open := s.open
	s.open = nil
	s.mu.Unlock()
	for c := range open {
		c.Conn.Close()
	}
}

// trackedConn leaves its set when closed.
type trackedConn struct {
	net.Conn
	set  *connSet
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.set.mu.Lock()
		delete(c.set.open, c)
		c.set.mu.Unlock()
	})
	return c.Conn.Close()
}
