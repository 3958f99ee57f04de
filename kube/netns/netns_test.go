package netns

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestProcessesFindsTheMark: a child carrying the mark is listed while it
// lives and not after; a process without it never is.
func TestProcessesFindsTheMark(t *testing.T) {
	marked := exec.Command("sleep", "30")
	marked.Env = append(os.Environ(), RunEnv+"=test-mark")
	unmarked := exec.Command("sleep", "30")
	for _, c := range []*exec.Cmd{marked, unmarked} {
		if err := c.Start(); err != nil {
			t.Skipf("no sleep to run: %v", err)
		}
		defer c.Process.Kill()
	}
	got := Processes("test-mark")
	if len(got) != 1 || got[0].PID != marked.Process.Pid || !strings.Contains(Describe(got), "sleep") {
		t.Fatalf("Processes = %v (%s), want only pid %d", got, Describe(got), marked.Process.Pid)
	}
	if len(ProcessesWith(RunEnv, "other-mark")) != 0 {
		t.Fatal("a mark nobody carries was found")
	}
	marked.Process.Kill()
	marked.Wait()
	if left := Processes("test-mark"); len(left) != 0 {
		t.Fatalf("after the child was reaped: %v", left)
	}
}

func TestOthersLeavesThisProcessOut(t *testing.T) {
	ps := []Proc{{PID: os.Getpid()}, {PID: 1}}
	if got := Others(ps); len(got) != 1 || got[0].PID != 1 {
		t.Fatalf("Others = %v", got)
	}
}
