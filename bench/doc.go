// Package bench runs scenarios on backends: the simulator, the embedded
// local platform, a kind cluster and Kubernetes (the project's own control
// plane with pods as processes, or any cluster), all behind one small interface,
// Backend. A backend gets a scenario (its functions, traffic, seed and
// duration, already cut to what should run) and one policy with its
// settings, and returns the run's results.Summary, the summary.json every
// world writes.
//
// The package also runs whole suites (RunSuite): it loads every scenario of
// a directory, simulates each under every policy it names on a pool of
// workers, runs some of them for real on a chosen backend, shows progress,
// and writes the comparison report. The scalebench command's run, bench and
// calibrate subcommands are thin front ends to it.
//
// Backends are picked by name (New, Backends); adding one is a constructor
// and a line in the registry, nothing in cmd/.
package bench
