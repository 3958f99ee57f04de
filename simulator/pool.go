package simulator

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Pool is a fixed set of worker goroutines that simulations share. A fleet
// run hands it one task per function per stretch of simulated time; a
// capacity plan that simulates many candidates at once passes one Pool to
// all of them, so that the machine runs Workers simulations' worth of work
// at a time rather than candidates × functions goroutines.
//
// Tasks never wait on the pool themselves, so any number of Runs may share
// one Pool without deadlock.
type Pool struct {
	work    chan func()
	workers int
	done    sync.WaitGroup
}

// NewPool starts workers goroutines; workers < 1 means one per CPU.
func NewPool(workers int) *Pool {
	if workers < 1 {
		workers = runtime.NumCPU()
	}
	p := &Pool{work: make(chan func()), workers: workers}
	p.done.Add(workers)
	for range workers {
		go func() {
			defer p.done.Done()
			for task := range p.work {
				task()
			}
		}()
	}
	return p
}

// Workers is the number of worker goroutines.
func (p *Pool) Workers() int { return p.workers }

// Close stops the workers once their tasks are done. No Run may use the
// pool after Close.
func (p *Pool) Close() {
	close(p.work)
	p.done.Wait()
}

// each calls task(slot, i) for every i in [0, n) and returns when all have
// returned. At most Workers calls run at once, each in its own slot
// 0..Workers-1 (a slot is never used by two calls at the same time), so a
// caller can give each slot its own scratch state. A nil pool runs the
// calls in order on the calling goroutine, in slot 0.
func (p *Pool) each(n int, task func(slot, i int)) {
	if p == nil {
		for i := range n {
			task(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	k := min(p.workers, n)
	wg.Add(k)
	for slot := range k {
		p.work <- func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				task(slot, i)
			}
		}
	}
	wg.Wait()
}

// slots is how many distinct slots each may use.
func (p *Pool) slots() int {
	if p == nil {
		return 1
	}
	return p.workers
}
