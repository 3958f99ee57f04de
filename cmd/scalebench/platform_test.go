package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scalebench/scalebench/platform/pods"
)

func TestPlatformCommandRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"non-loopback address", []string{"--addr", "0.0.0.0:0"}},
		{"unknown policy", []string{"--addr", "127.0.0.1:0", "--policy", "nope"}},
		{"bad init mode", []string{"--addr", "127.0.0.1:0", "--init-mode", "nap"}},
		{"negative concurrency", []string{"--addr", "127.0.0.1:0", "--concurrency", "-1"}},
		{"bad setting", []string{"--addr", "127.0.0.1:0", "--set", "stable-window"}},
		{"missing fn binary", []string{"--addr", "127.0.0.1:0", "--fn-binary", "/nonexistent/fn"}},
		{"stray argument", []string{"now"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, err := execCommand(t, "platform", tc.args...); code != 2 {
				t.Fatalf("exit %d (%v), want 2", code, err)
			}
		})
	}
}

// TestPlatformCommandServesAndStopsOnSIGINT runs the real binary: one
// request through the platform, then Ctrl-C must drain, exit 0 and leave no
// fn process behind.
func TestPlatformCommandServesAndStopsOnSIGINT(t *testing.T) {
	dir := buildFn(t, true)
	fn := filepath.Join(dir, "fn")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "scalebench"), "platform", "--addr", addr, "--init", "20ms", "--work", "5ms")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.Contains(line, "http://"+addr) {
		t.Fatalf("first line %q (%v), want the platform's URL", line, err)
	}
	go io.Copy(io.Discard, stdout)
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Get("http://" + addr + "/?work=1ms")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Instance") == "" {
		t.Fatalf("status %d, headers %v: want 200 from a pod", resp.StatusCode, resp.Header)
	}
	if n := len(pods.Running(fn)); n < 1 {
		t.Fatalf("%d fn processes while serving, want at least 1", n)
	}
	cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("platform after SIGINT: %v, want exit 0", err)
	}
	if left := pods.Running(fn); len(left) > 0 {
		t.Fatalf("fn processes left after SIGINT: %v", left)
	}
}
