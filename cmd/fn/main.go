package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/scalebench/scalebench/internal/wire"
)

// config is fn's command line.
type config struct {
	addr         string
	listenFD     int
	readyFD      int
	instance     string
	init         time.Duration
	initMode     string
	work         time.Duration
	spin         time.Duration
	alloc        int64
	allocBudget  int64
	drainTimeout time.Duration
}

// maxAlloc is the most one request may allocate; --alloc-budget bounds the
// sum over the requests in flight.
const maxAlloc = 1 << 30

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("fn", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address when no --listen-fd is given (loopback only)")
	fs.IntVar(&c.listenFD, "listen-fd", 0, "inherited listening socket's file descriptor (0 = listen on --addr)")
	fs.IntVar(&c.readyFD, "ready-fd", 0, "file descriptor to write \"ready\" to once serving (0 = none)")
	fs.StringVar(&c.instance, "instance", "", "instance id for the "+wire.HeaderInstance+" header (default fn-<pid>)")
	fs.DurationVar(&c.init, "init", 0, "initialisation time before the server is ready")
	fs.StringVar(&c.initMode, "init-mode", "sleep", "how init time is spent: sleep or spin (CPU)")
	fs.DurationVar(&c.work, "work", 0, "default per-request sleep (query parameter work= overrides)")
	fs.DurationVar(&c.spin, "spin", 0, "default per-request CPU spin (query parameter spin= overrides)")
	fs.Int64Var(&c.alloc, "alloc", 0, "default bytes allocated and touched per request (query parameter alloc= overrides), at most 1 GiB")
	fs.Int64Var(&c.allocBudget, "alloc-budget", maxAlloc, "most bytes held at once by the requests in flight; a request that would exceed it gets 503")
	fs.DurationVar(&c.drainTimeout, "drain-timeout", 30*time.Second, "longest wait for in-flight requests after SIGTERM")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q: fn takes flags only", fs.Arg(0))
	}
	if c.initMode != "sleep" && c.initMode != "spin" {
		return c, fmt.Errorf("--init-mode: want sleep or spin, got %q", c.initMode)
	}
	for name, d := range map[string]time.Duration{"--init": c.init, "--work": c.work, "--spin": c.spin, "--drain-timeout": c.drainTimeout} {
		if d < 0 {
			return c, fmt.Errorf("%s: want a non-negative duration, got %v", name, d)
		}
	}
	if c.allocBudget < 0 || c.allocBudget > 64*maxAlloc {
		return c, fmt.Errorf("--alloc-budget: want a byte count from 0 to %d, got %d", int64(64*maxAlloc), c.allocBudget)
	}
	// A default the budget cannot hold would fail every request (or, before
	// the budget, kill the process on every request): refuse it at start.
	if c.alloc < 0 || c.alloc > min(maxAlloc, c.allocBudget) {
		return c, fmt.Errorf("--alloc: want a byte count from 0 to %d (the smaller of 1 GiB and --alloc-budget), got %d", min(maxAlloc, c.allocBudget), c.alloc)
	}
	if port := os.Getenv("PORT"); port != "" && c.listenFD == 0 && !set["addr"] {
		// Run as a function under the platform's contract: serve $PORT.
		c.addr = net.JoinHostPort("127.0.0.1", port)
	}
	if c.listenFD == 0 {
		host, _, err := net.SplitHostPort(c.addr)
		if err != nil {
			return c, fmt.Errorf("--addr: want host:port, got %q", c.addr)
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return c, fmt.Errorf("--addr: want a loopback address such as 127.0.0.1:8080, got %q", c.addr)
		}
	}
	if c.instance == "" {
		c.instance = "fn-" + strconv.Itoa(os.Getpid())
	}
	return c, nil
}

func main() {
	c, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fn:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := serve(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "fn:", err)
		os.Exit(1)
	}
}

// serve spends the init time, serves until ctx ends, then drains.
func serve(ctx context.Context, c config) error {
	var ln net.Listener
	var err error
	if c.listenFD > 0 {
		f := os.NewFile(uintptr(c.listenFD), "listener")
		ln, err = net.FileListener(f)
		f.Close()
	} else {
		ln, err = net.Listen("tcp", c.addr)
	}
	if err != nil {
		return err
	}
	start := time.Now()
	if c.initMode == "spin" {
		spinUntil(ctx, c.init)
	} else {
		t := time.NewTimer(c.init)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	if ctx.Err() != nil {
		// Stopped before it was ready: no request can be in flight.
		return ln.Close()
	}
	initTime := time.Since(start)

	h := newHandler(c, initTime)
	h.budget = newBudget(c.allocBudget)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if c.readyFD > 0 {
		// Accept is already running on the listener, so a connection made
		// by the reader of this line is served.
		f := os.NewFile(uintptr(c.readyFD), "ready")
		fmt.Fprintf(f, "ready %s\n", c.instance)
		f.Close()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	dctx, cancel := context.WithTimeout(context.Background(), c.drainTimeout)
	defer cancel()
	return srv.Shutdown(dctx)
}

// handler serves /healthz and the function itself.
type handler struct {
	c        config
	initMs   string
	served   atomic.Bool
	requests atomic.Int64
	budget   *budget
}

func newHandler(c config, initTime time.Duration) *handler {
	return &handler{c: c, initMs: strconv.FormatFloat(float64(initTime)/float64(time.Millisecond), 'f', 3, 64),
		budget: newBudget(c.allocBudget)}
}

// budget bounds the bytes held by requests in flight: each request's
// allocation is its working set for the whole request, so without a bound
// a few concurrent ?alloc= requests would take the machine's memory.
type budget struct {
	mu        sync.Mutex
	limit, in int64
}

func newBudget(limit int64) *budget { return &budget{limit: limit} }

// take reserves n bytes, or reports that the budget cannot hold them now.
func (b *budget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.in+n > b.limit {
		return false
	}
	b.in += n
	return true
}

func (b *budget) give(n int64) {
	b.mu.Lock()
	b.in -= n
	b.mu.Unlock()
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "ok\n")
		return
	}
	work, spinFor, alloc, err := h.requestWork(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// The cold flag belongs to the first function request, not to probes.
	cold := !h.served.Swap(true)
	h.requests.Add(1)
	if alloc > 0 {
		if !h.budget.take(alloc) {
			http.Error(w, fmt.Sprintf("fn: alloc=%d would exceed the %d-byte budget of the requests in flight (--alloc-budget)", alloc, h.budget.limit), http.StatusServiceUnavailable)
			return
		}
		defer h.budget.give(alloc)
		held := touch(alloc)
		defer runtime.KeepAlive(held)
	}
	if spinFor > 0 {
		// The spin ends with the request: a client that went away must
		// not leave a core busy (nor a drain waiting for it).
		spinUntil(r.Context(), spinFor)
	}
	if work > 0 {
		t := time.NewTimer(work)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	hd := w.Header()
	hd.Set(wire.HeaderInstance, h.c.instance)
	hd.Set(wire.HeaderColdStart, strconv.FormatBool(cold))
	hd.Set(wire.HeaderInitMs, h.initMs)
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "ok\n")
}

// requestWork reads work=, spin= and alloc= from the query, falling back to
// the flags' defaults.
func (h *handler) requestWork(r *http.Request) (work, spinFor time.Duration, alloc int64, err error) {
	work, spinFor, alloc = h.c.work, h.c.spin, h.c.alloc
	if r.URL.RawQuery == "" {
		return work, spinFor, alloc, nil
	}
	q := r.URL.Query()
	if v := q.Get(wire.WorkParam); v != "" {
		if work, err = time.ParseDuration(v); err != nil || work < 0 {
			return 0, 0, 0, fmt.Errorf("work: want a non-negative Go duration such as 250ms, got %q", v)
		}
	}
	if v := q.Get("spin"); v != "" {
		if spinFor, err = time.ParseDuration(v); err != nil || spinFor < 0 {
			return 0, 0, 0, fmt.Errorf("spin: want a non-negative Go duration such as 5ms, got %q", v)
		}
	}
	if v := q.Get("alloc"); v != "" {
		if alloc, err = strconv.ParseInt(v, 10, 64); err != nil || alloc < 0 || alloc > maxAlloc {
			return 0, 0, 0, fmt.Errorf("alloc: want a byte count from 0 to %d, got %q", maxAlloc, v)
		}
	}
	return work, spinFor, alloc, nil
}

// spin burns CPU for d, the way real initialisation or handler code does,
// so CPU contention shows up in the results.
func spin(d time.Duration) {
	end := time.Now().Add(d)
	x := uint64(1)
	for time.Now().Before(end) {
		for i := 0; i < 1000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	sink.Store(x)
}

// spinUntil spins for d in slices so a SIGTERM during init is noticed.
func spinUntil(ctx context.Context, d time.Duration) {
	end := time.Now().Add(d)
	for ctx.Err() == nil {
		left := time.Until(end)
		if left <= 0 {
			return
		}
		spin(min(left, 10*time.Millisecond))
	}
}

var sink atomic.Uint64

// touch allocates n bytes and writes every page so the memory is resident;
// the caller keeps it for the rest of the request.
func touch(n int64) []byte {
	b := make([]byte, n)
	for i := int64(0); i < n; i += 4096 {
		b[i] = byte(i)
	}
	sink.Add(uint64(b[n-1]))
	return b
}
