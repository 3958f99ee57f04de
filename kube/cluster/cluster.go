package cluster

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// KubernetesVersion is the release test/controlplane builds; the module's
// go.mod is the one place it is chosen, and a test keeps the two equal.
const KubernetesVersion = "v1.34.4"

// ServiceCIDR is the Service cluster-IP range. Nothing routes it (there is
// no kube-proxy): clients reach pods through EndpointSlices. It is in the
// RFC 2544 benchmarking range, which is never routed on any network.
const ServiceCIDR = "198.19.0.0/16"

// Controllers are the kube-controller-manager controllers a serverless
// backend needs. serviceaccount and namespace make namespaces usable,
// endpoints feeds the aggregator's routing to extension API servers (the
// custom-metrics adapter), and pod-garbage-collector removes the pods of a
// node that is gone.
var Controllers = []string{
	"deployment-controller",
	"replicaset-controller",
	"endpointslice-controller",
	"endpoints-controller",
	"garbage-collector-controller",
	"serviceaccount-token-controller",
	"serviceaccount-controller",
	"namespace-controller",
	"horizontal-pod-autoscaler-controller",
	"root-ca-certificate-publisher-controller",
	"pod-garbage-collector-controller",
	// node-lifecycle lifts the not-ready taint the API server puts on a
	// new Node once the node reports Ready, and marks the pods of a node
	// that stops heartbeating not ready.
	"node-lifecycle-controller",
}

// Config describes a control plane to start.
type Config struct {
	// Dir holds certificates, etcd's data, kubeconfigs, logs and the state
	// file. It is created if missing; it must not hold a running cluster.
	Dir string
	// BinDir holds kube-apiserver, kube-controller-manager and
	// kube-scheduler; empty means DefaultBinDir().
	BinDir string
	// Etcd is the etcd binary; empty means etcd on PATH (Debian's
	// etcd-server package).
	Etcd string
	// Detach starts the processes in a session of their own and without
	// Pdeathsig, so they outlive the caller (`scalebench cluster up`);
	// Down stops them. Without it they die with the calling process.
	Detach bool
	// ControllerManagerFlags are appended to kube-controller-manager's
	// command line (for example a shorter
	// --horizontal-pod-autoscaler-sync-period).
	ControllerManagerFlags []string
	// APIServerFlags are appended to kube-apiserver's command line.
	APIServerFlags []string
	// StartTimeout bounds the wait for every component to be healthy;
	// 0 means 3 minutes (a loaded 2-core machine needs about 20 s).
	StartTimeout time.Duration
	// Progress receives one line per phase; nil discards them.
	Progress io.Writer
}

// Cluster is a running control plane.
type Cluster struct {
	cfg   Config
	state State
	procs []*proc
	// admin is the kubeconfig with cluster-admin credentials.
	admin []byte
}

// State is what Down needs to find a detached control plane again; it is
// written to Dir/cluster.json.
type State struct {
	Server     string      `json:"server"`
	Kubeconfig string      `json:"kubeconfig"`
	Processes  []Component `json:"processes"`
}

// Component is one process of the control plane.
type Component struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	Exe  string `json:"exe"`
	Log  string `json:"log"`
}

// StateFile is the state file's name under Config.Dir.
const StateFile = "cluster.json"

// KubeconfigFile is the admin kubeconfig's name under Config.Dir.
const KubeconfigFile = "kubeconfig"

// Binaries are the control-plane executables expected in BinDir.
var Binaries = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"}

// DefaultBinDir is where the control-plane binaries are looked for:
// $SCALEBENCH_CONTROLPLANE_BIN if set, else bin/controlplane beside the
// running executable (make controlplane links it there), else
// bin/controlplane in the module the working directory is in (go test).
func DefaultBinDir() string {
	if d := os.Getenv("SCALEBENCH_CONTROLPLANE_BIN"); d != "" {
		return d
	}
	if exe, err := os.Executable(); err == nil {
		d := filepath.Join(filepath.Dir(exe), "controlplane")
		if _, err := os.Stat(filepath.Join(d, Binaries[0])); err == nil {
			return d
		}
	}
	if root, err := moduleRoot(); err == nil {
		return filepath.Join(root, "bin", "controlplane")
	}
	return filepath.Join("bin", "controlplane")
}

// moduleRoot walks up from the working directory to the scalebench module.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.HasPrefix(string(data), "module github.com/scalebench/scalebench\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cluster: not inside the scalebench module")
		}
		dir = parent
	}
}

// Start brings up etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler and waits until they are healthy and the default service
// account exists (the controller manager works). On error everything it
// started is stopped again.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Dir == "" {
		return nil, errors.New("cluster: want a state directory")
	}
	if cfg.BinDir == "" {
		cfg.BinDir = DefaultBinDir()
	}
	if cfg.Etcd == "" {
		cfg.Etcd = "etcd"
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 3 * time.Minute
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	etcd, err := exec.LookPath(cfg.Etcd)
	if err != nil {
		return nil, fmt.Errorf("cluster: etcd not found (%v); install Debian's etcd-server (make e2e does, as root)", err)
	}
	bins := map[string]string{"etcd": etcd}
	for _, b := range Binaries {
		p := filepath.Join(cfg.BinDir, b)
		if st, err := os.Stat(p); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return nil, fmt.Errorf("cluster: %s not found in %s; `make controlplane` builds Kubernetes %s there", b, cfg.BinDir, KubernetesVersion)
		}
		bins[b] = p
	}
	if st, err := ReadState(cfg.Dir); err == nil && st.alive() {
		return nil, fmt.Errorf("cluster: a control plane is already running from %s (scalebench cluster down stops it)", cfg.Dir)
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	cfg.Dir = dir
	// A fresh start: old certificates and etcd data would not match.
	for _, sub := range []string{"pki", "etcd", "logs", "kcm", "scheduler"} {
		if err := os.RemoveAll(filepath.Join(dir, sub)); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	ports, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	etcdPort, peerPort, apiPort, kcmPort, schedPort := ports[0], ports[1], ports[2], ports[3], ports[4]
	serviceIP := "198.19.0.1"
	pki, err := newPKI(filepath.Join(dir, "pki"), serviceIP)
	if err != nil {
		return nil, fmt.Errorf("cluster: certificates: %w", err)
	}
	server := "https://127.0.0.1:" + strconv.Itoa(apiPort)
	c := &Cluster{cfg: cfg, state: State{Server: server, Kubeconfig: filepath.Join(dir, KubeconfigFile)}}
	kcmConfig, schedConfig := filepath.Join(dir, "kube-controller-manager.kubeconfig"), filepath.Join(dir, "kube-scheduler.kubeconfig")
	if c.admin, err = writeKubeconfig(c.state.Kubeconfig, server, pki.cluster.pem, pki.admin); err != nil {
		return nil, err
	}
	if _, err = writeKubeconfig(kcmConfig, server, pki.cluster.pem, pki.controllerManager); err != nil {
		return nil, err
	}
	if _, err = writeKubeconfig(schedConfig, server, pki.cluster.pem, pki.scheduler); err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	fail := func(err error) (*Cluster, error) {
		c.Stop()
		return nil, err
	}

	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	fmt.Fprintf(cfg.Progress, "cluster: etcd on %s\n", etcdURL)
	if err := c.run("etcd", bins["etcd"],
		"--name=scalebench", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=scalebench="+peerURL,
		// One member on a test machine: a snapshot per 10k writes keeps
		// its memory bounded in long runs.
		"--snapshot-count=10000", "--logger=zap", "--log-level=warn"); err != nil {
		return fail(err)
	}
	if err := c.waitHTTP(ctx, "etcd", etcdURL+"/health", nil); err != nil {
		return fail(err)
	}

	fmt.Fprintf(cfg.Progress, "cluster: kube-apiserver %s on %s\n", KubernetesVersion, server)
	apiArgs := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + strconv.Itoa(apiPort),
		"--tls-cert-file=" + pki.path(serverCertFile), "--tls-private-key-file=" + pki.path(serverKeyFile),
		"--client-ca-file=" + pki.path(caFile),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + pki.path(serviceAccountPub),
		"--service-account-signing-key-file=" + pki.path(serviceAccountKey),
		"--service-cluster-ip-range=" + ServiceCIDR,
		"--authorization-mode=RBAC",
		// The kubernetes Service's endpoint would be this loopback
		// address, which Endpoints validation rejects; nothing in this
		// cluster reaches the API server through the Service.
		"--endpoint-reconciler-type=none",
		// The aggregation layer, for the custom-metrics APIService.
		"--requestheader-client-ca-file=" + pki.path(frontProxyCAFile),
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + pki.path(proxyClientCert),
		"--proxy-client-key-file=" + pki.path(proxyClientKey),
		// No kube-proxy: the aggregator dials the endpoints itself.
		"--enable-aggregator-routing=true",
		"--profiling=false",
	}
	if err := c.run("kube-apiserver", bins["kube-apiserver"], append(apiArgs, cfg.APIServerFlags...)...); err != nil {
		return fail(err)
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(c.admin)
	if err != nil {
		return fail(err)
	}
	if err := c.waitHTTP(ctx, "kube-apiserver", server+"/readyz", rc); err != nil {
		return fail(err)
	}

	fmt.Fprintf(cfg.Progress, "cluster: kube-controller-manager (%s)\n", strings.Join(Controllers, ", "))
	kcmArgs := []string{
		"--kubeconfig=" + kcmConfig,
		"--authentication-kubeconfig=" + kcmConfig, "--authorization-kubeconfig=" + kcmConfig,
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(kcmPort),
		"--cert-dir=" + filepath.Join(dir, "kcm"),
		"--leader-elect=false",
		"--controllers=" + strings.Join(Controllers, ","),
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + pki.path(serviceAccountKey),
		"--root-ca-file=" + pki.path(caFile),
		"--service-cluster-ip-range=" + ServiceCIDR,
		// Scale-ups of many pods at once should not queue behind the
		// client-side rate limit.
		"--kube-api-qps=100", "--kube-api-burst=200",
	}
	if err := c.run("kube-controller-manager", bins["kube-controller-manager"], append(kcmArgs, cfg.ControllerManagerFlags...)...); err != nil {
		return fail(err)
	}
	fmt.Fprintln(cfg.Progress, "cluster: kube-scheduler")
	if err := c.run("kube-scheduler", bins["kube-scheduler"],
		"--kubeconfig="+schedConfig,
		"--authentication-kubeconfig="+schedConfig, "--authorization-kubeconfig="+schedConfig,
		"--bind-address=127.0.0.1", "--secure-port="+strconv.Itoa(schedPort),
		"--cert-dir="+filepath.Join(dir, "scheduler"),
		"--leader-elect=false"); err != nil {
		return fail(err)
	}
	if err := c.waitHTTP(ctx, "kube-controller-manager", "https://127.0.0.1:"+strconv.Itoa(kcmPort)+"/healthz", nil); err != nil {
		return fail(err)
	}
	if err := c.waitHTTP(ctx, "kube-scheduler", "https://127.0.0.1:"+strconv.Itoa(schedPort)+"/healthz", nil); err != nil {
		return fail(err)
	}
	// The default service account appears once the controller manager's
	// controllers run with their own credentials: proof they can act.
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fail(err)
	}
	if err := c.poll(ctx, "the default service account", func() error {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	}); err != nil {
		return fail(err)
	}
	if err := c.writeState(); err != nil {
		return fail(err)
	}
	fmt.Fprintf(cfg.Progress, "cluster: ready; KUBECONFIG=%s\n", c.state.Kubeconfig)
	return c, nil
}

// Kubeconfig is the path of the admin kubeconfig.
func (c *Cluster) Kubeconfig() string { return c.state.Kubeconfig }

// Server is the API server's URL.
func (c *Cluster) Server() string { return c.state.Server }

// RESTConfig is a fresh client configuration with cluster-admin rights.
func (c *Cluster) RESTConfig() *rest.Config {
	rc, err := clientcmd.RESTConfigFromKubeConfig(c.admin)
	if err != nil {
		panic(err) // written by Start from values it made itself
	}
	return rc
}

// Components lists the control plane's processes.
func (c *Cluster) Components() []Component { return append([]Component(nil), c.state.Processes...) }

// Stop stops the control plane, newest component first, and waits for every
// process to exit. It is safe to call more than once.
func (c *Cluster) Stop() error {
	var errs []error
	for i := len(c.procs) - 1; i >= 0; i-- {
		if err := c.procs[i].stop(15 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	c.procs = nil
	os.Remove(filepath.Join(c.cfg.Dir, StateFile))
	return errors.Join(errs...)
}

// proc is one child process.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set before done closes
	log  string
}

func (c *Cluster) run(name, bin string, args ...string) error {
	// Down recognises a process by /proc/PID/exe, which is the resolved
	// path (bin/controlplane is a link into the cache).
	if resolved, err := filepath.EvalSymlinks(bin); err == nil {
		bin = resolved
	}
	logPath := filepath.Join(c.cfg.Dir, "logs", name+".log")
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer lf.Close() // the child holds its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.Dir = c.cfg.Dir
	if c.cfg.Detach {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	} else {
		// A process group per component lets Stop reach anything it
		// forks; Pdeathsig takes it down if the caller dies first.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cluster: start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	c.procs = append(c.procs, p)
	c.state.Processes = append(c.state.Processes, Component{Name: name, PID: cmd.Process.Pid, Exe: bin, Log: logPath})
	return nil
}

func (p *proc) stop(timeout time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	pid := p.cmd.Process.Pid
	syscall.Kill(-pid, syscall.SIGTERM)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		syscall.Kill(-pid, syscall.SIGKILL)
		<-p.done
	}
	// Anything the component forked goes with it.
	syscall.Kill(-pid, syscall.SIGKILL)
	return nil
}

// exited reports a component that died during start, with its log's tail.
func (c *Cluster) exited() error {
	for _, p := range c.procs {
		select {
		case <-p.done:
			return fmt.Errorf("cluster: %s exited (%v); last lines of %s:\n%s", p.name, p.err, p.log, tail(p.log, 15))
		default:
		}
	}
	return nil
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// poll calls check every 100 ms until it succeeds, a component dies or ctx
// ends.
func (c *Cluster) poll(ctx context.Context, what string, check func() error) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	var last error
	for {
		if last = check(); last == nil {
			return nil
		}
		if err := c.exited(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: waiting for %s: %w (last: %v)", what, ctx.Err(), last)
		case <-t.C:
		}
	}
}

// waitHTTP waits for url to answer 200: with the admin credentials when rc
// is set, else over plain HTTP or TLS without verification (the
// components' self-signed health endpoints).
func (c *Cluster) waitHTTP(ctx context.Context, name, url string, rc *rest.Config) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true, Proxy: nil}}
	if rc != nil {
		var err error
		if client, err = rest.HTTPClientFor(rc); err != nil {
			return err
		}
		client.Timeout = 2 * time.Second
	}
	return c.poll(ctx, name, func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s answered %s", url, resp.Status)
		}
		return nil
	})
}

func (c *Cluster) writeState() error {
	data, err := json.MarshalIndent(c.state, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(c.cfg.Dir, StateFile+".tmp")
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(c.cfg.Dir, StateFile))
}

func writeKubeconfig(path, server string, caPEM []byte, kp keyPair) ([]byte, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["scalebench"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos["scalebench"] = &clientcmdapi.AuthInfo{ClientCertificateData: kp.cert, ClientKeyData: kp.key}
	cfg.Contexts["scalebench"] = &clientcmdapi.Context{Cluster: "scalebench", AuthInfo: "scalebench"}
	cfg.CurrentContext = "scalebench"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return nil, fmt.Errorf("cluster: write kubeconfig: %w", err)
	}
	return data, nil
}

// freePorts reserves n distinct loopback ports. They are released before
// the components bind them, so another process could take one in between;
// a component that cannot bind exits and Start reports it.
func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("cluster: free port: %w", err)
		}
		lns = append(lns, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// ReadState reads the state file of a control plane started in dir.
func ReadState(dir string) (State, error) {
	var st State
	data, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, fmt.Errorf("%s: %w", filepath.Join(dir, StateFile), err)
	}
	return st, nil
}

// alive reports whether any recorded component is still running.
func (st State) alive() bool {
	for _, p := range st.Processes {
		if running(p) {
			return true
		}
	}
	return false
}

// running reports whether p's pid still runs p's executable (a recycled pid
// runs something else) and is not a zombie.
func running(p Component) bool {
	exe, err := os.Readlink("/proc/" + strconv.Itoa(p.PID) + "/exe")
	if err != nil {
		return false
	}
	return exe == p.Exe
}

// Down stops a detached control plane recorded in dir, newest component
// first, and removes the state file. A missing state file is not an error:
// there is nothing to stop.
func Down(dir string, timeout time.Duration) error {
	st, err := ReadState(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for i := len(st.Processes) - 1; i >= 0; i-- {
		p := st.Processes[i]
		if !running(p) {
			continue
		}
		syscall.Kill(-p.PID, syscall.SIGTERM)
		deadline := time.Now().Add(timeout)
		for running(p) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		syscall.Kill(-p.PID, syscall.SIGKILL)
		for running(p) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	return os.Remove(filepath.Join(dir, StateFile))
}

// NamespaceReady waits until ns has its default service account, which
// pods need before they can be created.
func NamespaceReady(ctx context.Context, cs kubernetes.Interface, ns string) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		_, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return nil
		}
		if !apierrors.IsNotFound(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("namespace %s: no default service account: %w", ns, ctx.Err())
		case <-t.C:
		}
	}
}

// DefaultDir is where `scalebench cluster up` keeps a control plane's state
// unless told otherwise: the user's cache directory.
func DefaultDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "scalebench", "cluster")
	}
	return filepath.Join(os.TempDir(), "scalebench-cluster")
}

// LoadConfig finds the cluster a command talks to: the kubeconfig named
// explicitly (--kubeconfig), else $KUBECONFIG, else the one `scalebench
// cluster up` wrote in DefaultDir, else ~/.kube/config.
func LoadConfig(explicit string) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = explicit
	if explicit == "" && os.Getenv(clientcmd.RecommendedConfigPathEnvVar) == "" {
		if p := filepath.Join(DefaultDir(), KubeconfigFile); fileExists(p) {
			rules.ExplicitPath = p
		}
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	rc, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubeconfig: %w (scalebench cluster up starts a control plane and writes one)", err)
	}
	where := rules.ExplicitPath
	if where == "" {
		where = strings.Join(rules.Precedence, string(os.PathListSeparator))
	}
	return rc, where, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
