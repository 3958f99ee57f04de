package simulator

import "strconv"

// seriesRow appends one timeseries.csv row. strconv appends into a reused
// buffer: fmt would allocate on every row of a long run.
func (e *engine) seriesRow(r *Second) {
	b := e.buf[:0]
	b = strconv.AppendInt(b, r.T, 10)
	b = append(b, ',')
	if e.multi || e.revisions {
		b = appendCSVString(b, r.Name)
		b = append(b, ',')
	}
	if e.revisions {
		b = appendCSVString(b, r.Revision)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(r.Percent), 10)
		b = append(b, ',')
	}
	b = strconv.AppendInt(b, r.Arrivals, 10)
	b = append(b, ',')
	b = strconv.AppendFloat(b, r.Concurrency, 'f', 3, 64)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(r.Queued), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(r.Desired), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(r.Ready), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(r.Pods), 10)
	if r.Panic {
		b = append(b, ",1\n"...)
	} else {
		b = append(b, ",0\n"...)
	}
	e.tsW.Write(b)
	e.buf = b
}

// requestRow appends one requests.csv row; times in seconds to the
// microsecond, latency in milliseconds.
func (e *engine) requestRow(f *fnState, id, arr, start, end int64, cold bool, status string) {
	b := e.buf[:0]
	b = strconv.AppendInt(b, id, 10)
	b = append(b, ',')
	b = appendCSVString(b, f.name)
	b = append(b, ',')
	if e.revisions {
		if f.rev != nil {
			b = appendCSVString(b, f.rev.name)
		}
		b = append(b, ',')
	}
	b = strconv.AppendFloat(b, float64(arr)/1e9, 'f', 6, 64)
	b = append(b, ',')
	b = strconv.AppendFloat(b, float64(start)/1e9, 'f', 6, 64)
	b = append(b, ',')
	b = strconv.AppendFloat(b, float64(end)/1e9, 'f', 6, 64)
	b = append(b, ',')
	b = strconv.AppendFloat(b, float64(end-arr)/1e6, 'f', 3, 64)
	if cold {
		b = append(b, ",1,"...)
	} else {
		b = append(b, ",0,"...)
	}
	b = append(b, status...)
	b = append(b, '\n')
	e.reqW.Write(b)
	e.buf = b
	if e.rowEnd != nil {
		e.rowEnd(end)
	}
}

// appendCSVString quotes a name only when CSV needs it.
func appendCSVString(b []byte, s string) []byte {
	need := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ',' || c == '"' || c == '\n' || c == '\r' {
			need = true
			break
		}
	}
	if !need {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}
