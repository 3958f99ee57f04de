package loadgen

import (
	"os"
	"syscall"
)

// raiseNoFile lifts the soft open-files limit to the hard one, since every
// connection in flight holds a descriptor, and returns the new soft limit
// (0 if it cannot be read).
func raiseNoFile() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			lim = raised
		}
	}
	return lim.Cur
}

// budget is how many requests in flight the open-files limit leaves room
// for.
type budget struct {
	known       bool // false: the limit could not be read
	limit, open int
	requests    int
}

// fileBudget raises the soft limit (raiseNoFile) and divides what is left
// of it, after the descriptors already open and a reserve, by the
// descriptors each request in flight holds.
//
// The reserve is a tenth of the limit, at least 64: files opened later
// (output, a pod's pipes, listeners), the runtime's own, and the target's
// side of each connection when it shares this process without saying so.
// 10,000 workers against a limit of 1,024 had every request past the
// thousandth fail with "too many open files", in the generator or in the
// platform behind it.
func fileBudget(perRequest int) budget {
	limit := raiseNoFile()
	if limit == 0 || limit > 1<<30 {
		return budget{}
	}
	b := budget{known: true, limit: int(limit), open: openFiles()}
	reserve := max(64, b.limit/10)
	b.requests = max(0, b.limit-b.open-reserve) / max(1, perRequest)
	return b
}

// openFiles counts this process's open descriptors (0 where /proc is not
// there to say).
func openFiles() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return len(entries)
}
