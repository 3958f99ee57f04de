package loadgen

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// h1Transport is a plain-HTTP/1.1 keep-alive RoundTripper for the load
// generator's own requests: body-less, over http://, without a context
// that can be cancelled (vegeta's requests are all of that kind).
//
// Why not http.Transport: at 20,000 requests a second its per-request
// hand-offs cost more CPU than the generator's own work. Each request there
// passes through three goroutines (the caller, the connection's writeLoop
// and readLoop) with channel selects between them, a context timer from
// Client.Timeout and the idle-pool bookkeeping. Here the worker that sends a
// request writes it and reads the response on the connection itself, the
// timeout is the connection's deadline, and idle connections are a stack
// under one mutex. Anything else (https, a body, a cancellable context)
// goes to the fallback http.Transport.
//
// Each request in flight holds one connection and a connection is reused
// only once its response has been read in full, so the connections never
// outnumber vegeta's workers: MaxWorkers bounds the descriptors.
type h1Transport struct {
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	timeout  time.Duration
	fallback http.RoundTripper

	mu   sync.Mutex
	idle map[string][]*h1Conn
	shut bool
}

type h1Conn struct {
	c    net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	addr string
}

func newH1Transport(dial func(ctx context.Context, network, addr string) (net.Conn, error), timeout time.Duration, fallback http.RoundTripper) *h1Transport {
	return &h1Transport{dial: dial, timeout: timeout, fallback: fallback, idle: map[string][]*h1Conn{}}
}

func (t *h1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" || (req.Body != nil && req.Body != http.NoBody) || req.Context().Done() != nil {
		return t.fallback.RoundTrip(req)
	}
	addr := req.URL.Host
	if req.URL.Port() == "" {
		addr = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	c, reused, err := t.get(req.Context(), addr)
	if err != nil {
		return nil, err
	}
	resp, err := t.exchange(c, req)
	var ne net.Error
	if err != nil && reused && !(errors.As(err, &ne) && ne.Timeout()) {
		// The target may have closed an idle connection just as it was
		// taken (a timeout is not that: the target had the request). The
		// request is body-less, so one retry on a fresh connection is
		// what http.Transport would do too.
		if c, err = t.dialConn(req.Context(), addr); err != nil {
			return nil, err
		}
		resp, err = t.exchange(c, req)
	}
	return resp, err
}

// exchange writes req on c and reads the response head; the body is read
// through c until it ends, and then c goes back to the idle stack.
func (t *h1Transport) exchange(c *h1Conn, req *http.Request) (*http.Response, error) {
	if t.timeout > 0 {
		c.c.SetDeadline(time.Now().Add(t.timeout))
	}
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	w := c.bw
	w.WriteString(req.Method)
	w.WriteByte(' ')
	w.WriteString(req.URL.RequestURI())
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(host)
	w.WriteString("\r\nUser-Agent: scalebench\r\n")
	for k, vs := range req.Header {
		if k == "Host" {
			continue // written above, from req.Host
		}
		for _, v := range vs {
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
	w.WriteString("\r\n")
	if err := w.Flush(); err != nil {
		c.c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(c.br, req)
	if err != nil {
		c.c.Close()
		return nil, err
	}
	resp.Body = &h1Body{rc: resp.Body, c: c, t: t, keep: !resp.Close && !req.Close}
	return resp, nil
}

// h1Body returns its connection to the idle stack when the body has been
// read to the end and closed, and closes the connection otherwise.
type h1Body struct {
	rc   io.ReadCloser
	c    *h1Conn
	t    *h1Transport
	keep bool
	eof  bool
	done bool
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.done {
		return 0, errors.New("read on a closed response body")
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.eof = true
	} else if err != nil {
		b.keep = false
	}
	return n, err
}

func (b *h1Body) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	err := b.rc.Close()
	if b.keep && b.eof && err == nil {
		b.t.put(b.c)
	} else {
		b.c.c.Close()
	}
	return err
}

func (t *h1Transport) get(ctx context.Context, addr string) (*h1Conn, bool, error) {
	t.mu.Lock()
	if s := t.idle[addr]; len(s) > 0 {
		c := s[len(s)-1]
		s[len(s)-1] = nil
		t.idle[addr] = s[:len(s)-1]
		t.mu.Unlock()
		return c, true, nil
	}
	t.mu.Unlock()
	c, err := t.dialConn(ctx, addr)
	return c, false, err
}

func (t *h1Transport) dialConn(ctx context.Context, addr string) (*h1Conn, error) {
	nc, err := t.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &h1Conn{c: nc, br: bufio.NewReaderSize(nc, 4<<10), bw: bufio.NewWriterSize(nc, 1<<10), addr: addr}, nil
}

func (t *h1Transport) put(c *h1Conn) {
	t.mu.Lock()
	if t.shut {
		t.mu.Unlock()
		c.c.Close()
		return
	}
	t.idle[c.addr] = append(t.idle[c.addr], c)
	t.mu.Unlock()
}

// CloseIdleConnections closes the idle connections, and those that come
// back from requests still in flight: it is called once the attack is over.
func (t *h1Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = map[string][]*h1Conn{}
	t.shut = true
	t.mu.Unlock()
	for _, s := range idle {
		for _, c := range s {
			c.c.Close()
		}
	}
	if f, ok := t.fallback.(interface{ CloseIdleConnections() }); ok {
		f.CloseIdleConnections()
	}
}
