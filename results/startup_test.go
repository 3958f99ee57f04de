package results

import (
	"testing"
	"time"
)

func TestNewPodStartup(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	cases := []struct {
		name                 string
		pods                 []StartupTimes
		wantPods, wantZero   int
		spawnP50, releaseP50 float64
	}{
		{"scaled up, no poke", []StartupTimes{{Spawned: at(0), Listening: at(100), Ready: at(101), Released: at(102)}}, 1, 0, 100, 0},
		{"from zero", []StartupTimes{{Poke: at(0), Spawned: at(3), Listening: at(104), Ready: at(105), Released: at(106)}}, 1, 1, 101, 1},
		{"never served", []StartupTimes{{Poke: at(0), Spawned: at(3), Listening: at(104), Ready: at(105)}}, 1, 1, 101, 0},
		{"two pods for one scale from zero: the first to serve counts", []StartupTimes{
			{Poke: at(0), Spawned: at(3), Listening: at(104), Ready: at(105)},
			{Poke: at(0), Spawned: at(4), Listening: at(104), Ready: at(104), Released: at(106)},
		}, 2, 1, 100.5, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := NewPodStartup(tc.pods)
			if got.Pods != tc.wantPods || got.FromZero != tc.wantZero {
				t.Fatalf("pods %d from zero %d, want %d and %d", got.Pods, got.FromZero, tc.wantPods, tc.wantZero)
			}
			if got.SpawnToListening.P50 < tc.spawnP50*0.99 || got.SpawnToListening.P50 > tc.spawnP50*1.01 {
				t.Fatalf("spawn to listening p50 %v, want %v", got.SpawnToListening.P50, tc.spawnP50)
			}
			if got.ReadyToRelease.P50 < tc.releaseP50*0.99 || got.ReadyToRelease.P50 > tc.releaseP50*1.01 {
				t.Fatalf("ready to release p50 %v, want %v", got.ReadyToRelease.P50, tc.releaseP50)
			}
		})
	}
}
