package bench

import (
	"context"
	"os"

	"github.com/scalebench/scalebench/results"
)

// RunToDir runs r on b and writes dir/summary.json, dir/timeseries.csv and,
// with requests, dir/requests.csv. dir appears only when all of it is
// written; a failed run leaves nothing behind. It returns the result and
// the directory's final path. opts say what may be replaced (results.Force)
// and where cleaning up is reported (results.LogTo). A run that ended but
// did not pass (the backend returned its result with an error, such as
// *platform.RunFailure) is written, and its error returned with the result.
func RunToDir(ctx context.Context, b Backend, r Run, dir string, requests bool, opts ...results.OutOption) (*Result, string, error) {
	od, err := results.CreateOutDir(dir, opts...)
	if err != nil {
		return nil, "", err
	}
	defer od.Abort()
	var ts *os.File
	if r.TimeseriesRows != NoTimeseries {
		if ts, err = os.Create(od.Path("timeseries.csv")); err != nil {
			return nil, "", err
		}
		defer ts.Close()
		r.Timeseries = ts
	}
	if requests {
		rq, err := os.Create(od.Path("requests.csv"))
		if err != nil {
			return nil, "", err
		}
		defer rq.Close()
		r.Requests = rq
	}
	res, runErr := b.Run(ctx, r)
	if runErr != nil && res == nil {
		return nil, "", runErr
	}
	if ts != nil {
		if err := ts.Close(); err != nil {
			return nil, "", err
		}
	}
	if err := results.WriteJSON(od.Path("summary.json"), res.Summary); err != nil {
		return nil, "", err
	}
	if err := od.Commit(); err != nil {
		return nil, "", err
	}
	return res, od.Final(), runErr
}
