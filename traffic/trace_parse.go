package traffic

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// parseTrace reads the trace kinds of Parse; ok is false for other kinds.
func parseTrace(kind, args string) (p Pattern, ok bool, err error) {
	switch kind {
	case "azure2019":
		kv, err := keyValues(args, "invocations", "durations", "memory", "path", "functions", "hashes", "apps", "triggers", "sample", "sample-seed", "minutes", "spread", "compress", "scale")
		if err != nil {
			return nil, true, err
		}
		if dir, found := kv["path"]; found {
			// A directory laid out as the In-Vitro loader and the sample do.
			for _, k := range []string{"invocations", "durations", "memory"} {
				if _, given := kv[k]; given {
					return nil, true, fmt.Errorf("path: give either a directory or %s=FILE, not both", k)
				}
				f := filepath.Join(dir, k+".csv")
				if _, err := os.Stat(f); err == nil || k == "invocations" {
					kv[k] = f
				}
			}
		}
		inv, found := kv["invocations"]
		if !found || inv == "" {
			return nil, true, errors.New("invocations: missing, want the path of the per-minute counts CSV (or path=DIR holding invocations.csv)")
		}
		var opt Azure2019Options
		if opt.Functions, err = kv.int("functions", 0, 0, 1<<30); err != nil {
			return nil, true, err
		}
		for _, l := range []struct {
			key string
			to  *[]string
		}{{"hashes", &opt.Hashes}, {"apps", &opt.Apps}, {"triggers", &opt.Triggers}} {
			if v := kv[l.key]; v != "" {
				*l.to = strings.Split(v, "/")
			}
		}
		if opt.Sample, err = kv.int("sample", 0, 0, 1<<30); err != nil {
			return nil, true, err
		}
		if s, found := kv["sample-seed"]; found {
			if opt.SampleSeed, err = strconv.ParseInt(s, 10, 64); err != nil {
				return nil, true, fmt.Errorf("sample-seed: want an integer, got %q", s)
			}
		}
		if r, found := kv["minutes"]; found {
			first, n, cut := strings.Cut(r, "+")
			a, err1 := strconv.Atoi(first)
			b, err2 := strconv.Atoi(n)
			if !cut || err1 != nil || err2 != nil || a < 0 || b < 0 {
				return nil, true, fmt.Errorf("minutes: want first+count like 600+60 (0-based first minute), got %q", r)
			}
			opt.FirstMinute, opt.Minutes = a, b
		}
		if opt.Spread, err = ParseSpread(kv["spread"]); err != nil {
			return nil, true, err
		}
		if opt.Compression, err = kv.float("compress", 1, 1e-6, 1e6); err != nil {
			return nil, true, err
		}
		if opt.Scale, err = kv.float("scale", 1, 1e-9, 1e6); err != nil {
			return nil, true, err
		}
		t, err := LoadAzure2019(inv, kv["durations"], kv["memory"], opt)
		return t, true, err
	case "azure2021":
		kv, err := keyValues(args, "file", "path", "functions", "start", "length", "compress")
		if err != nil {
			return nil, true, err
		}
		file, found := kv["file"]
		if p, ok := kv["path"]; ok {
			if found {
				return nil, true, errors.New("path: give file= or path=, not both")
			}
			file, found = p, true
		}
		if !found || file == "" {
			return nil, true, errors.New("file: missing, want the path of the invocation CSV")
		}
		var opt Azure2021Options
		if opt.Functions, err = kv.int("functions", 0, 0, 1<<30); err != nil {
			return nil, true, err
		}
		for _, k := range []string{"start", "length"} {
			if _, found := kv[k]; !found {
				continue
			}
			d, err := kv.duration(k)
			if err != nil {
				return nil, true, err
			}
			if k == "start" {
				opt.Start = d
			} else {
				opt.Length = d
			}
		}
		if opt.Compression, err = kv.float("compress", 1, 1e-6, 1e6); err != nil {
			return nil, true, err
		}
		t, err := LoadAzure2021(file, opt)
		return t, true, err
	case "sparse":
		kv, err := keyValues(args, "functions", "seed", "scale")
		if err != nil {
			return nil, true, err
		}
		var opt SparseOptions
		if opt.Functions, err = kv.int("functions", 1000, 1, 10_000_000); err != nil {
			return nil, true, err
		}
		if s, found := kv["seed"]; found {
			if opt.Seed, err = strconv.ParseInt(s, 10, 64); err != nil {
				return nil, true, fmt.Errorf("seed: want an integer, got %q", s)
			}
		}
		if opt.Scale, err = kv.float("scale", 1, 1e-9, 1e6); err != nil {
			return nil, true, err
		}
		t, err := SparseTrace(opt)
		return t, true, err
	}
	return nil, false, nil
}
