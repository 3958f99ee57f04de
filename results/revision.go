package results

// RevisionSummary is one revision's share of a run, beside the totals in
// Summary.Revisions, for scenarios whose functions have several revisions.
type RevisionSummary struct {
	Function string `json:"function"`
	Revision string `json:"revision"`
	Tag      string `json:"tag,omitempty"`
	// DeployAtSeconds is when the revision was created; FirstTrafficSeconds
	// when the route first gave it a share (-1: never).
	DeployAtSeconds     float64 `json:"deploy_at_s"`
	FirstTrafficSeconds float64 `json:"first_traffic_s"`

	Requests   int64 `json:"requests"`
	Completed  int64 `json:"completed"`
	Dropped    int64 `json:"dropped"`
	ColdStarts int64 `json:"cold_starts"`

	Latency     Percentiles `json:"latency_ms"`
	ColdLatency Percentiles `json:"cold_latency_ms"`

	PodStarts  int64   `json:"pod_starts"`
	PodSeconds float64 `json:"pod_seconds"`
	MaxPods    int     `json:"max_pods"`
}
