package pods

import (
	"os"
	"path/filepath"
	"strconv"
)

// Running lists the pids of live processes executing binary, found by
// scanning /proc. Shutdown checks use it to prove no pod outlived the
// platform; zombies (already dead, not yet reaped) are not counted because
// their exe link is gone.
func Running(binary string) []int {
	want, err := filepath.Abs(binary)
	if err != nil {
		return nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && exe == want {
			pids = append(pids, pid)
		}
	}
	return pids
}
