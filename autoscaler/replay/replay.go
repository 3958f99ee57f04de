package replay

import (
	"bufio"
	"context"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/scalebench/scalebench/autoscaler"
)

// Header is the first line Run writes.
const Header = "t,recommended,desired,panic,stable,panic_concurrency,ebc"

// Run drives p through the series open loop and writes one CSV row per
// tick: ticks fall on multiples of the policy's interval (t = 0, 2, 4, ...
// for the KPA), each after that second's stat is recorded, plus an extra
// row when a stat pokes the policy between ticks (the KPA's scale-from-zero
// fast path). A tick time with no row of its own ticks on the stats seen so
// far and the last ready count. recommended is empty when the policy had
// no data to decide on.
//
// Run checks ctx every few thousand ticks and returns its error when it is
// done, so an interrupt ends a long replay at once.
func Run(ctx context.Context, p autoscaler.Policy, series []Sample, w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(Header + "\n")
	if len(series) == 0 {
		return bw.Flush()
	}
	interval := int64(p.Interval())
	at := func(ns int64) time.Time { return time.Unix(0, ns) }
	next := ceilTo(series[0].T*1e9, interval)
	ready := series[0].Ready
	var buf []byte
	rows := 0
	emit := func(ns int64, d autoscaler.Decision) {
		rows++
		buf = buf[:0]
		buf = appendSeconds(buf, ns)
		buf = append(buf, ',')
		if d.Valid {
			buf = strconv.AppendInt(buf, int64(d.Recommended), 10)
		}
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(d.Desired), 10)
		buf = append(buf, ',')
		if d.Panic {
			buf = append(buf, '1')
		} else {
			buf = append(buf, '0')
		}
		for _, v := range []float64{d.Stable, d.PanicValue, d.ExcessBurstCapacity} {
			buf = append(buf, ',')
			// Four decimals; a value too large for v*1e4 is printed as it is.
			if math.Abs(v) < 1e15 {
				v = math.Round(v*1e4) / 1e4
			}
			buf = strconv.AppendFloat(buf, v, 'f', -1, 64)
		}
		buf = append(buf, '\n')
		bw.Write(buf)
	}
	for _, s := range series {
		ns := s.T * 1e9
		for ; next < ns; next += interval {
			emit(next, p.Tick(at(next), autoscaler.Pods{Ready: ready}))
			if rows%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		ready = s.Ready
		poke := p.Record(at(ns), s.Stat)
		if next == ns {
			emit(ns, p.Tick(at(ns), autoscaler.Pods{Ready: ready}))
			next += interval
		} else if poke {
			emit(ns, p.Tick(at(ns), autoscaler.Pods{Ready: ready}))
		}
	}
	return bw.Flush()
}

func ceilTo(v, step int64) int64 {
	if r := v % step; r != 0 {
		return v + step - r
	}
	return v
}

// appendSeconds writes ns as seconds, with a fraction only when needed.
func appendSeconds(b []byte, ns int64) []byte {
	if ns%1e9 == 0 {
		return strconv.AppendInt(b, ns/1e9, 10)
	}
	return strconv.AppendFloat(b, float64(ns)/1e9, 'f', -1, 64)
}
