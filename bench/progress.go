package bench

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress shows what the bench is doing: one rewritten status line on a
// terminal, one line per finished run otherwise (CI logs).
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	total    int
	finished int
	running  map[string]bool
	begin    time.Time
}

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, tty: isTerminal(w), total: total, running: map[string]bool{}, begin: time.Now()}
}

// isTerminal reports whether w is a terminal, where progress rewrites one
// line instead of adding lines.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (p *progress) start(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running[name] = true
	p.draw()
}

func (p *progress) finish(name, errMsg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.running, name)
	p.finished++
	if !p.tty {
		status := "ok"
		if errMsg != "" {
			status = "FAILED: " + errMsg
		}
		fmt.Fprintf(p.w, "[%d/%d] sim %s %s (%s)\n", p.finished, p.total, name, status, time.Since(p.begin).Round(time.Second))
		return
	}
	if errMsg != "" {
		fmt.Fprintf(p.w, "\r\033[K%s FAILED: %s\n", name, errMsg)
	}
	p.draw()
}

func (p *progress) draw() {
	if !p.tty {
		return
	}
	names := make([]string, 0, len(p.running))
	for n := range p.running {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(p.w, "\r\033[K[%d/%d] %s simulating %s", p.finished, p.total, time.Since(p.begin).Round(time.Second), strings.Join(names, ", "))
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%d simulations in %s\n", p.total, time.Since(p.begin).Round(time.Second))
	}
}
