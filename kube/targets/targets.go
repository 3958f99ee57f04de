package targets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/scalebench/scalebench/autoscaler"
	"github.com/scalebench/scalebench/results"
	"github.com/scalebench/scalebench/scenarios"
)

// The four targets, by the name each has in a kind run's rows.
const (
	Knative    = "knative"
	OpenFaaS   = "openfaas-ce"
	HPA        = "hpa"
	Scalebench = "scalebench"
)

// Ports inside every pod: the queue-proxy takes requests on PodPort and
// serves /metrics on MetricsPort; the function listens on FunctionPort on
// the pod's loopback.
const (
	PodPort      = 8080
	MetricsPort  = 9091
	FunctionPort = 8081
)

// OpenFaaSPort is the one port OpenFaaS sends a function's requests to.
const OpenFaaSPort = 8080

// QueueProxyPort is where scalebench's queue-proxy sidecar takes requests
// in a pod of a user's image (Knative's queue-proxy port), so the user's
// own port stays theirs.
const QueueProxyPort = 8012

// ReservedPorts are the ports a user's function may not listen on:
// Knative's queue-proxy ports, which its webhook refuses in a user
// container, and which scalebench's queue-proxy sidecar uses (8012 for
// requests, 9091 for /metrics).
var ReservedPorts = []int32{8012, 8013, 8022, 9090, 9091}

// The metrics adapter's per-pod metrics an HPA can name (custom.metrics.k8s.io).
const (
	ConcurrencyMetric = "concurrency"
	RPSMetric         = "rps"
)

// Options are the cluster-side choices of a run.
type Options struct {
	// Namespace holds the Knative Service and both Deployments; OpenFaaS
	// functions live in its own function namespace (openfaas-fn).
	Namespace string
	// FnImage is the function image (cmd/fn with scalebench beside it).
	FnImage string
	// OpenFaaSImage is the same with the queue-proxy as its entrypoint, in
	// the watchdog's place (OpenFaaS's REST API takes no command).
	OpenFaaSImage string
	// HPANodePort exposes the HPA target's Service on the host.
	HPANodePort int32
	// Function, when its Image is set, is the user's own function image,
	// run in cmd/fn's place by every target.
	Function Function
	// QueueProxyImage is scalebench's own image (entrypoint /scalebench):
	// its queue-proxy runs beside a user's image in the HPA and scalebench
	// targets, as Knative's does beside a Knative user container.
	QueueProxyImage string
	// Rollout, for a function with revisions, makes its rollout steps the
	// variant's way (one of the scenario's rollouts:), as the simulator's
	// policy/variant runs do.
	Rollout *scenarios.Rollout
	// MatchPods is the old revision's pods at the rollout, for a variant
	// that pre-scales to match them (initialScale: match).
	MatchPods int
}

// Function is a user's function image under the same runtime contract as
// the local platform's: any HTTP server that listens on the port it is
// given in $PORT and answers its readiness probe. Its own entrypoint runs
// unchanged; it needs no scalebench headers.
type Function struct {
	Image string
	// Port is the port the server listens on, given to it in $PORT
	// (Knative's containerPort); 0 means 8080.
	Port int32
	// ReadinessPath is the HTTP readiness probe's path (an answer from 200
	// to 399 is ready); empty means a TCP probe (the port accepts a
	// connection), Knative's default.
	ReadinessPath string
}

// port is the function's port, defaulted.
func (f Function) port() int32 {
	if f.Port == 0 {
		return 8080
	}
	return f.Port
}

// Check refuses what no platform would run.
func (f Function) Check() error {
	if f.Image == "" {
		if f.Port != 0 || f.ReadinessPath != "" {
			return fmt.Errorf("targets: a port or readiness path describes a user's image; give the image too")
		}
		return nil
	}
	if strings.ContainsAny(f.Image, " \t\n") {
		return fmt.Errorf("targets: image %q: want an image reference such as registry.example.com/me/fn:tag", f.Image)
	}
	p := f.port()
	if p < 1 || p > 65535 {
		return fmt.Errorf("targets: port %d: want 1 to 65535", p)
	}
	for _, r := range ReservedPorts {
		if p == r {
			return fmt.Errorf("targets: port %d is reserved for the queue-proxy (Knative's and scalebench's: %v); listen on another, such as 8080", p, ReservedPorts)
		}
	}
	if f.ReadinessPath != "" && !strings.HasPrefix(f.ReadinessPath, "/") {
		return fmt.Errorf("targets: readiness path %q: want a path such as /healthz", f.ReadinessPath)
	}
	return nil
}

// probe is the user container's readiness probe on its own port.
func (f Function) probe(period int32) *corev1.Probe {
	p := &corev1.Probe{PeriodSeconds: period}
	if f.ReadinessPath != "" {
		p.HTTPGet = &corev1.HTTPGetAction{Path: f.ReadinessPath, Port: intstr.FromInt32(f.port())}
	} else {
		p.TCPSocket = &corev1.TCPSocketAction{Port: intstr.FromInt32(f.port())}
	}
	return p
}

// DefaultOptions are kind-config's.
func DefaultOptions() Options {
	return Options{Namespace: "scalebench-bench", FnImage: "scalebench.dev/fn:dev", OpenFaaSImage: "scalebench.dev/fn-openfaas:dev",
		HPANodePort: 31091, QueueProxyImage: "scalebench.dev/scalebench:dev"}
}

// Set is what Render writes: one YAML stream to apply, the OpenFaaS
// deployment request, and the notes on how each peer was configured.
type Set struct {
	// Objects are Kubernetes objects, in apply order.
	Objects []Object
	// OpenFaaS is the body of POST /system/functions on the CE gateway.
	OpenFaaS map[string]any
	// Notes say, per target, how the scenario's settings were given to it
	// and which could not be.
	Notes map[string][]string
	// Stages, for a function with revisions, are the targets' objects
	// over time (Objects then hold only what every target shares).
	Stages []Stage
	// Refused are the targets that do not run the function, and why.
	Refused map[string]string
	// Runs are the bench's runs of the staged targets: target and the
	// scenario's policy label that runs it (runs.tsv); Rollouts the
	// scenario's rollout variants (rollouts.txt), one manifest set each.
	Runs     [][2]string
	Rollouts []string
}

// Object is one manifest with the target it belongs to.
type Object struct {
	Target string
	Value  any
}

// Render builds the four targets of function fn of sc.
func Render(sc *scenarios.Scenario, fn int, opt Options) (*Set, error) {
	if fn < 0 || fn >= len(sc.Functions) {
		return nil, fmt.Errorf("targets: scenario %s has %d functions, no function %d", sc.Name, len(sc.Functions), fn)
	}
	f := sc.Functions[fn]
	if err := opt.Function.Check(); err != nil {
		return nil, err
	}
	name := ObjectName(f.Name)
	s := &Set{Notes: map[string][]string{}}
	s.Objects = append(s.Objects, Object{"", &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: opt.Namespace},
	}})
	if len(f.Revisions) > 0 {
		if err := s.renderRevisions(sc, f, name, opt); err != nil {
			return nil, err
		}
		return s, nil
	}
	if opt.Rollout != nil {
		return nil, fmt.Errorf("targets: scenario %s: rollout %s: function %s has no revisions to roll out", sc.Name, opt.Rollout.Name, f.Name)
	}
	if err := s.knative(sc, f, name, opt); err != nil {
		return nil, err
	}
	if err := s.openfaas(sc, f, name, opt); err != nil {
		return nil, err
	}
	if err := s.hpa(sc, f, name, opt); err != nil {
		return nil, err
	}
	if err := s.scalebench(sc, f, name, opt); err != nil {
		return nil, err
	}
	return s, nil
}

// settings returns the scenario's settings for the first policy entry named
// one of names, with the policy's defaults for the rest, and which entry.
func settings(sc *scenarios.Scenario, names ...string) (map[string]string, string, error) {
	for _, n := range names {
		for _, p := range sc.Policies {
			if p.Name == n {
				return p.Settings, n, nil
			}
		}
	}
	return map[string]string{}, names[0], nil
}

// appInit is the function's own start-up work, passed to fn as --init: the
// mean of the scenario's app-init phase. Scheduling, image pull and
// container start are the cluster's own on kind.
func appInit(f scenarios.Function) time.Duration {
	if f.Startup.AppInit == nil {
		return 0
	}
	return f.Startup.AppInit.Mean().Round(time.Millisecond)
}

// knativeAnnotations are the per-revision annotations Knative takes, by
// the KPA setting names (autoscaling.knative.dev/<annotation>).
var knativeAnnotations = map[string]string{
	"metric":                             "metric",
	"target":                             "target",
	"target-utilization-percentage":      "target-utilization-percentage",
	"target-burst-capacity":              "target-burst-capacity",
	"stable-window":                      "window",
	"panic-window-percentage":            "panic-window-percentage",
	"panic-threshold-percentage":         "panic-threshold-percentage",
	"metric-aggregation-algorithm":       "metric-aggregation-algorithm",
	"activation-scale":                   "activation-scale",
	"scale-down-delay":                   "scale-down-delay",
	"min-scale":                          "min-scale",
	"max-scale":                          "max-scale",
	"initial-scale":                      "initial-scale",
	"scale-to-zero-pod-retention-period": "scale-to-zero-pod-retention-period",
}

// knativeClusterWide are KPA settings Knative has only in the
// config-autoscaler ConfigMap, for every revision of the cluster.
var knativeClusterWide = map[string]bool{
	"container-concurrency-target-default": true,
	"requests-per-second-target-default":   true,
	"max-scale-up-rate":                    true,
	"max-scale-down-rate":                  true,
	"enable-scale-to-zero":                 true,
	"scale-to-zero-grace-period":           true,
	"allow-zero-initial-scale":             true,
}

func (s *Set) knative(sc *scenarios.Scenario, f scenarios.Function, name string, opt Options) error {
	set, from, err := settings(sc, "knative")
	if err != nil {
		return err
	}
	notes := []string{fmt.Sprintf("Knative Service %s/%s, class kpa.autoscaling.knative.dev, from the scenario's %q settings", opt.Namespace, name, from)}
	tmpl, cluster, more, err := knativeTemplate(set, f, opt)
	if err != nil {
		return err
	}
	notes = append(notes, more...)
	svc := map[string]any{
		"apiVersion": "serving.knative.dev/v1",
		"kind":       "Service",
		"metadata":   map[string]any{"name": name, "namespace": opt.Namespace},
		"spec":       map[string]any{"template": tmpl},
	}
	s.Objects = append(s.Objects, Object{Knative, svc})
	notes = append(notes, s.knativeCluster(cluster)...)
	s.Notes[Knative] = notes
	return nil
}

// knativeCluster adds config-autoscaler when the settings have cluster-wide
// keys, and says so.
func (s *Set) knativeCluster(cluster map[string]string) []string {
	if len(cluster) == 0 {
		return nil
	}
	s.Objects = append(s.Objects, Object{Knative, &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: "config-autoscaler", Namespace: "knative-serving"},
		Data:       cluster,
	}})
	return []string{"cluster-wide in config-autoscaler (every Knative revision of the cluster): " + joinKV(cluster)}
}

// knativeTemplate is a Knative Service's revision template for function
// (or revision) f under the knative settings set: its annotations,
// containerConcurrency and container; cluster are the settings Knative has
// only cluster-wide.
func knativeTemplate(set map[string]string, f scenarios.Function, opt Options) (tmpl map[string]any, cluster map[string]string, notes []string, err error) {
	ann := map[string]string{"autoscaling.knative.dev/class": "kpa.autoscaling.knative.dev"}
	cluster = map[string]string{}
	cc := int64(f.ContainerConcurrency)
	for _, k := range sortedKeys(set) {
		v := set[k]
		switch {
		case k == "container-concurrency":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("targets: knative container-concurrency %q: want an integer", v)
			}
			cc = n
		case knativeAnnotations[k] != "":
			ann["autoscaling.knative.dev/"+knativeAnnotations[k]] = v
		case knativeClusterWide[k]:
			cluster[k] = v
		default:
			notes = append(notes, fmt.Sprintf("%s=%s has no Knative equivalent and is not applied", k, v))
		}
	}
	if _, ok := ann["autoscaling.knative.dev/min-scale"]; !ok {
		// Knative's default; written out so the manifest says it.
		ann["autoscaling.knative.dev/min-scale"] = "0"
	}
	container := map[string]any{
		"name":            "fn",
		"image":           opt.FnImage,
		"imagePullPolicy": "Never",
		// Knative's queue-proxy reaches the user container on the pod's
		// loopback, so fn keeps its loopback-only listener.
		// Kubernetes expands $(POD_NAME) from the env below, so every pod's
		// responses name it (X-Instance) for the load generator.
		"args":  []string{"--addr", "127.0.0.1:" + strconv.Itoa(PodPort), "--init", appInit(f).String(), "--instance", "$(POD_NAME)"},
		"env":   []map[string]any{{"name": "POD_NAME", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.name"}}}},
		"ports": []map[string]any{{"containerPort": PodPort}},
	}
	if u := opt.Function; u.Image != "" {
		// Knative's runtime contract as it is: the image's own entrypoint,
		// $PORT set by Knative from containerPort (PORT itself is reserved),
		// and the readiness probe Knative's queue-proxy runs on the user
		// container's port.
		container = map[string]any{
			"name":  "fn",
			"image": u.Image,
			"ports": []map[string]any{{"containerPort": u.port()}},
		}
		if u.ReadinessPath != "" {
			// No port (Knative probes the container port) and no period
			// (Knative's queue-proxy probes aggressively until the first
			// success). Without a probe Knative's default is TCP.
			container["readinessProbe"] = map[string]any{"httpGet": map[string]any{"path": u.ReadinessPath}}
		}
		notes = append(notes, fmt.Sprintf("the user's image %s, port %d in $PORT, readiness %s, its own entrypoint; app-init is the image's own start-up", u.Image, u.port(), readinessName(u)))
	}
	if f.MemoryMB > 0 {
		container["resources"] = map[string]any{"requests": map[string]any{"memory": fmt.Sprintf("%dMi", int(math.Ceil(f.MemoryMB)))}}
	}
	tmpl = map[string]any{
		"metadata": map[string]any{"annotations": ann},
		"spec": map[string]any{
			"containerConcurrency": cc,
			"containers":           []any{container},
		},
	}
	notes = append(notes, "annotations: "+joinKV(ann))
	return tmpl, cluster, notes, nil
}

func (s *Set) openfaas(sc *scenarios.Scenario, f scenarios.Function, name string, opt Options) error {
	set, from, err := settings(sc, "openfaas-ce")
	if err != nil {
		return err
	}
	notes := []string{fmt.Sprintf("OpenFaaS CE function %s in openfaas-fn, through the gateway's REST API, from the scenario's %q settings", name, from)}
	labels := map[string]string{}
	for _, k := range sortedKeys(set) {
		v := set[k]
		switch k {
		case "min", "max", "factor":
			labels["com.openfaas.scale."+k] = v
		case "scale-to-zero":
			if v == "true" {
				labels["com.openfaas.scale.zero"] = "true"
			}
		default:
			notes = append(notes, fmt.Sprintf("%s=%s belongs to the gateway's, Prometheus's or Alertmanager's configuration, not the function; the chart's values are used", k, v))
		}
	}
	// The function's one container is the fn-openfaas image, whose
	// entrypoint is scalebench's queue-proxy in the watchdog's place: like
	// OpenFaaS's of-watchdog it reads the function's command from fprocess
	// and its concurrency limit from max_inflight, and starts fn on the
	// pod's loopback.
	fprocess := "/fn --addr 127.0.0.1:" + strconv.Itoa(FunctionPort) + " --init " + appInit(f).String()
	s.OpenFaaS = map[string]any{
		"service":     name,
		"image":       opt.OpenFaaSImage,
		"namespace":   "openfaas-fn",
		"labels":      labels,
		"annotations": map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": strconv.Itoa(MetricsPort)},
		"envProcess":  fprocess,
		"envVars":     map[string]string{"max_inflight": strconv.Itoa(f.ContainerConcurrency)},
	}
	if u := opt.Function; u.Image != "" {
		// OpenFaaS's workload contract: HTTP on port 8080, which an
		// of-watchdog image (HTTP mode) serves itself and a plain server
		// serves when it listens on $PORT. No fprocess: the image's own
		// entrypoint runs.
		s.OpenFaaS["image"] = u.Image
		delete(s.OpenFaaS, "envProcess")
		// No queue-proxy in this pod: nothing serves /metrics for Prometheus.
		s.OpenFaaS["annotations"] = map[string]string{}
		s.OpenFaaS["envVars"].(map[string]string)["PORT"] = strconv.Itoa(OpenFaaSPort)
		notes = append(notes, fmt.Sprintf("the user's image %s with its own entrypoint, PORT=%d: OpenFaaS sends requests to port %d only (the of-watchdog's)", u.Image, OpenFaaSPort, OpenFaaSPort))
		if u.port() != OpenFaaSPort {
			notes = append(notes, fmt.Sprintf("port %d is not OpenFaaS's %d: a server that listens on $PORT serves there; one fixed on %d cannot run on this target", u.port(), OpenFaaSPort, u.port()))
		}
		if u.ReadinessPath != "" {
			s.OpenFaaS["annotations"].(map[string]string)["com.openfaas.health.http.path"] = u.ReadinessPath
			notes = append(notes, "readiness "+u.ReadinessPath+" as com.openfaas.health.http.path (CE probes it for health and readiness; the separate com.openfaas.ready.http.* annotations are OpenFaaS Pro's)")
		} else {
			notes = append(notes, "readiness tcp has no OpenFaaS equivalent: CE probes /_/health over HTTP, which an of-watchdog image answers and a plain server must")
		}
	}
	if f.MemoryMB > 0 {
		s.OpenFaaS["requests"] = map[string]string{"memory": fmt.Sprintf("%dMi", int(math.Ceil(f.MemoryMB)))}
	}
	notes = append(notes, "labels: "+joinKV(labels))
	s.Notes[OpenFaaS] = notes
	return nil
}

// sidecarCommand is the pod's entrypoint for the targets without Knative's
// queue-proxy: scalebench's queue-proxy on the pod port, fn behind it.
func sidecarCommand(f scenarios.Function, cc int) []string {
	return []string{
		"/scalebench", "queue-proxy",
		"--listen", ":" + strconv.Itoa(PodPort),
		"--metrics-listen", ":" + strconv.Itoa(MetricsPort),
		"--upstream", "127.0.0.1:" + strconv.Itoa(FunctionPort),
		"--container-concurrency", strconv.Itoa(cc),
		"--",
		"/fn", "--addr", "127.0.0.1:" + strconv.Itoa(FunctionPort), "--init", appInit(f).String(), "--instance", "$(POD_NAME)",
	}
}

// deployment is the function as a Deployment behind its queue-proxy.
func deployment(f scenarios.Function, name, target string, opt Options, replicas int32, ann map[string]string) *appsv1.Deployment {
	labels := map[string]string{"app.kubernetes.io/name": name, "scalebench.dev/target": target}
	period := int32(1)
	if p := f.Startup.ReadinessPeriod; p > time.Second {
		period = int32(p / time.Second)
	}
	podName := corev1.EnvVar{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}
	var containers []corev1.Container
	if u := opt.Function; u.Image != "" {
		// The user's image runs as it is, on its own port, with the
		// queue-proxy as a sidecar in front (a Knative pod's shape): the
		// pod is Ready when both are, the function by its own probe.
		qp := []string{
			"/scalebench", "queue-proxy",
			"--listen", ":" + strconv.Itoa(QueueProxyPort),
			"--metrics-listen", ":" + strconv.Itoa(MetricsPort),
			"--upstream", "127.0.0.1:" + strconv.Itoa(int(u.port())),
			"--container-concurrency", strconv.Itoa(f.ContainerConcurrency),
		}
		containers = []corev1.Container{{
			Name:           "fn",
			Image:          u.Image,
			Env:            []corev1.EnvVar{{Name: "PORT", Value: strconv.Itoa(int(u.port()))}},
			Ports:          []corev1.ContainerPort{{Name: "user-port", ContainerPort: u.port()}},
			ReadinessProbe: u.probe(period),
		}, {
			Name:            "queue-proxy",
			Image:           opt.QueueProxyImage,
			ImagePullPolicy: corev1.PullNever,
			Command:         qp[:1],
			Args:            qp[1:],
			Env:             []corev1.EnvVar{podName},
			Ports: []corev1.ContainerPort{
				{Name: "http", ContainerPort: QueueProxyPort},
				{Name: "metrics", ContainerPort: MetricsPort},
			},
			ReadinessProbe: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(QueueProxyPort)}},
				PeriodSeconds: period, FailureThreshold: 1,
			},
		}}
	} else {
		cmd := sidecarCommand(f, f.ContainerConcurrency)
		containers = []corev1.Container{{
			Name:            "fn",
			Image:           opt.FnImage,
			ImagePullPolicy: corev1.PullNever,
			Command:         cmd[:1],
			Args:            cmd[1:],
			Env:             []corev1.EnvVar{podName},
			Ports: []corev1.ContainerPort{
				{Name: "http", ContainerPort: PodPort},
				{Name: "metrics", ContainerPort: MetricsPort},
			},
			ReadinessProbe: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(PodPort)}},
				PeriodSeconds: period, FailureThreshold: 1,
			},
		}}
	}
	// Containers[0] is the function, whatever the image: resources are its.
	if f.MemoryMB > 0 {
		containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(fmt.Sprintf("%dMi", int(math.Ceil(f.MemoryMB))))}
	}
	tmplAnn := map[string]string{"prometheus.io/scrape": "true", "prometheus.io/port": strconv.Itoa(MetricsPort)}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name + "-" + target, Namespace: opt.Namespace, Labels: labels, Annotations: ann},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: tmplAnn},
				Spec:       corev1.PodSpec{Containers: containers, TerminationGracePeriodSeconds: ptr(int64(30))},
			},
		},
	}
}

// readinessName is the probe as the --readiness flag spells it.
func readinessName(u Function) string {
	if u.ReadinessPath != "" {
		return "http:" + u.ReadinessPath
	}
	return "tcp"
}

// podPort is where a pod of the HPA or scalebench target takes requests:
// its queue-proxy's port.
func podPort(opt Options) int32 {
	if opt.Function.Image != "" {
		return QueueProxyPort
	}
	return PodPort
}

func service(name, target string, opt Options, nodePort int32) *corev1.Service {
	labels := map[string]string{"app.kubernetes.io/name": name, "scalebench.dev/target": target}
	svc := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: name + "-" + target, Namespace: opt.Namespace, Labels: labels},
		Spec: corev1.ServiceSpec{
			Selector: labels,
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(podPort(opt))}},
		},
	}
	if nodePort > 0 {
		svc.Spec.Type = corev1.ServiceTypeNodePort
		svc.Spec.Ports[0].NodePort = nodePort
	}
	return svc
}

func (s *Set) hpa(sc *scenarios.Scenario, f scenarios.Function, name string, opt Options) error {
	set, from, err := settings(sc, "hpa")
	if err != nil {
		return err
	}
	// The policy's own defaults, overridden by the scenario's settings, so
	// the HPA object says everything the model assumes.
	vals, err := policySettings("hpa", set)
	if err != nil {
		return err
	}
	notes := []string{fmt.Sprintf("autoscaling/v2 HorizontalPodAutoscaler %s/%s-hpa, decided by kube-controller-manager, from the scenario's %q settings", opt.Namespace, name, from)}
	atoi := func(k string) int32 { n, _ := strconv.Atoi(vals[k]); return int32(n) }
	secs := func(k string) int32 { d, _ := time.ParseDuration(vals[k]); return int32(d / time.Second) }
	minR := atoi("min-replicas")
	spec := autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name + "-" + HPA},
		MinReplicas:    &minR,
		MaxReplicas:    atoi("max-replicas"),
	}
	switch m := vals["metric"]; m {
	case "cpu":
		u := atoi("target-utilization")
		spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &u}}}}
	case "concurrency", "rps":
		metric := ConcurrencyMetric
		if m == "rps" {
			metric = RPSMetric
		}
		q, err := resource.ParseQuantity(vals["target"])
		if err != nil {
			return fmt.Errorf("targets: hpa target %q: want a number", vals["target"])
		}
		spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: metric}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &q}}}}
	default:
		return fmt.Errorf("targets: hpa metric %q: want cpu, concurrency or rps", m)
	}
	if vals["behavior"] == "true" {
		rules := func(dir string) *autoscalingv2.HPAScalingRules {
			r := &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr(secs("scale-" + dir + "-stabilization"))}
			period := secs("scale-" + dir + "-period")
			if n := atoi("scale-" + dir + "-pods"); n > 0 {
				r.Policies = append(r.Policies, autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PodsScalingPolicy, Value: n, PeriodSeconds: period})
			}
			if n := atoi("scale-" + dir + "-percent"); n > 0 {
				r.Policies = append(r.Policies, autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.PercentScalingPolicy, Value: n, PeriodSeconds: period})
			}
			sel := autoscalingv2.MaxChangePolicySelect
			r.SelectPolicy = &sel
			return r
		}
		spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: rules("up"), ScaleDown: rules("down")}
	} else {
		notes = append(notes, "behavior=false: no spec.behavior, the controller's legacy defaults apply")
	}
	for _, k := range []string{"tolerance", "sync-period", "metric-window"} {
		if _, given := set[k]; given {
			notes = append(notes, fmt.Sprintf("%s=%s is a kube-controller-manager flag (cluster-wide), not applied per HPA", k, set[k]))
		}
	}
	if vals["scale-to-zero-alpha"] == "true" {
		notes = append(notes, "scale-to-zero-alpha=true needs the HPAScaleToZero feature gate on kube-controller-manager")
	}
	if vals["metric"] == "cpu" {
		notes = append(notes, "metric=cpu needs metrics-server (kind-config installs it); the pod requests "+vals["cpu-request-millicores"]+"m CPU")
	}
	dep := deployment(f, name, HPA, opt, max(minR, 1), nil)
	notes = append(notes, sidecarNotes(opt)...)
	if vals["metric"] == "cpu" {
		q := resource.MustParse(vals["cpu-request-millicores"] + "m")
		if dep.Spec.Template.Spec.Containers[0].Resources.Requests == nil {
			dep.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{}
		}
		dep.Spec.Template.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = q
	}
	s.Objects = append(s.Objects,
		Object{HPA, dep},
		Object{HPA, service(name, HPA, opt, opt.HPANodePort)},
		Object{HPA, &autoscalingv2.HorizontalPodAutoscaler{
			TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
			ObjectMeta: metav1.ObjectMeta{Name: name + "-" + HPA, Namespace: opt.Namespace},
			Spec:       spec,
		}})
	s.Notes[HPA] = notes
	return nil
}

func (s *Set) scalebench(sc *scenarios.Scenario, f scenarios.Function, name string, opt Options) error {
	set, from, err := settings(sc, "kpa", "knative")
	if err != nil {
		return err
	}
	if _, err := policySettings(from, set); err != nil {
		return err
	}
	ann := map[string]string{"autoscaling.knative.dev/class": from}
	for _, k := range sortedKeys(set) {
		if a := knativeAnnotations[k]; a != "" {
			ann["autoscaling.knative.dev/"+a] = set[k]
		} else {
			ann["autoscaling.scalebench.dev/"+k] = set[k]
		}
	}
	if f.ContainerConcurrency > 0 {
		ann["autoscaling.scalebench.dev/container-concurrency"] = strconv.Itoa(f.ContainerConcurrency)
	}
	s.Objects = append(s.Objects,
		Object{Scalebench, deployment(f, name, Scalebench, opt, 1, ann)},
		Object{Scalebench, service(name, Scalebench, opt, 0)})
	s.Notes[Scalebench] = []string{
		fmt.Sprintf("Deployment %s/%s-scalebench under scalebench's controller, policy %s, from the scenario's %q settings", opt.Namespace, name, from, from),
		"annotations: " + joinKV(ann),
	}
	s.Notes[Scalebench] = append(s.Notes[Scalebench], sidecarNotes(opt)...)
	return nil
}

// sidecarNotes say how a user's image runs in the HPA and scalebench
// targets.
func sidecarNotes(opt Options) []string {
	u := opt.Function
	if u.Image == "" {
		return nil
	}
	return []string{fmt.Sprintf("the user's image %s with its own entrypoint, PORT=%d, readiness %s on its own port; scalebench's queue-proxy (%s) beside it takes requests on %d and serves /metrics on %d",
		u.Image, u.port(), readinessName(u), opt.QueueProxyImage, QueueProxyPort, MetricsPort)}
}

// policySettings checks settings against the policy (the same validation
// every world applies) and returns every setting's value, defaults filled in.
func policySettings(policy string, set map[string]string) (map[string]string, error) {
	if _, err := autoscaler.New(policy, set); err != nil {
		return nil, fmt.Errorf("targets: %w", err)
	}
	known, err := autoscaler.Settings(policy)
	if err != nil {
		return nil, fmt.Errorf("targets: %w", err)
	}
	vals := map[string]string{}
	for _, k := range known {
		vals[k.Key] = k.Default
	}
	for k, v := range set {
		vals[k] = v
	}
	return vals, nil
}

// YAML is the objects as one stream, documents in order.
func (s *Set) YAML() ([]byte, error) { return objectsYAML(s.Objects) }

func objectsYAML(objs []Object) ([]byte, error) {
	var b bytes.Buffer
	for i, o := range objs {
		y, err := yaml.Marshal(o.Value)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		if o.Target != "" {
			fmt.Fprintf(&b, "# target: %s\n", o.Target)
		}
		b.Write(y)
	}
	return b.Bytes(), nil
}

// OpenFaaSJSON is the gateway deployment request.
func (s *Set) OpenFaaSJSON() ([]byte, error) { return json.MarshalIndent(s.OpenFaaS, "", "  ") }

// ObjectName is a function's name as a Kubernetes object name (lower case,
// dashes, at most 40 characters), the stem of every target's objects.
func ObjectName(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if out == "" {
		out = "fn"
	}
	if len(out) > 40 {
		out = strings.TrimRight(out[:40], "-")
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func joinKV(m map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	if len(parts) == 0 {
		return "(none: the defaults)"
	}
	return strings.Join(parts, ", ")
}

func ptr[T any](v T) *T { return &v }

// WriteDir writes the set into dir atomically: targets.yaml (kubectl apply),
// openfaas.json (the CE gateway's POST /system/functions) and notes.md (how
// each peer was configured, for the report).
func (s *Set) WriteDir(dir string, opts ...results.OutOption) error {
	out, err := results.CreateOutDir(dir, opts...)
	if err != nil {
		return err
	}
	y, err := s.YAML()
	if err == nil {
		err = os.WriteFile(out.Path("targets.yaml"), y, 0o644)
	}
	if err == nil && s.OpenFaaS != nil {
		var j []byte
		if j, err = s.OpenFaaSJSON(); err == nil {
			err = os.WriteFile(out.Path("openfaas.json"), append(j, '\n'), 0o644)
		}
	}
	if err == nil && len(s.Stages) > 0 {
		err = s.writeStages(out.Path(""))
	}
	if err == nil {
		err = os.WriteFile(out.Path("notes.md"), []byte(s.NotesMarkdown()), 0o644)
	}
	if err == nil {
		err = out.Commit()
	}
	if err != nil {
		out.Abort()
	}
	return err
}

// NotesMarkdown is the notes as a markdown list per target.
func (s *Set) NotesMarkdown() string {
	var b strings.Builder
	b.WriteString("# How each target was configured\n")
	for _, t := range []string{Knative, OpenFaaS, HPA, Scalebench} {
		if len(s.Notes[t]) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n", t)
		for _, n := range s.Notes[t] {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	return b.String()
}
