package node

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/scalebench/scalebench/dist"
	"github.com/scalebench/scalebench/platform/pods"
)

// ImageRegistry is the image prefix the node runs: scalebench.dev/NAME is
// the binary NAME in the node's binary directory.
const ImageRegistry = "scalebench.dev/"

// Annotations a pod may carry.
const (
	// AnnotationStartupPrefix prefixes the start-up phases, named as in a
	// scenario's startup block.
	AnnotationStartupPrefix = "startup.scalebench.dev/"
	// AnnotationContainerConcurrency is the most requests the queue-proxy
	// lets into the pod at once (0, the default, is unlimited), as
	// Knative's containerConcurrency.
	AnnotationContainerConcurrency = "scalebench.dev/container-concurrency"
	// AnnotationQueueDepth bounds the requests that wait in the
	// queue-proxy for a slot.
	AnnotationQueueDepth = "scalebench.dev/queue-depth"
)

// MetricsPort is where each pod's queue-proxy serves /metrics.
const MetricsPort = 9091

// DefaultPort is the pod's serving port when its container lists none.
const DefaultPort = 8080

// imageName is NAME in scalebench.dev/NAME[:tag][@digest].
var imageName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// imageRepo is an image reference without its tag or digest, the key of a
// node's Commands.
func imageRepo(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	// A colon after the last slash starts the tag (one before it is a
	// registry's port).
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return image
}

// commandFor is the user's command an image maps to, if any.
func commandFor(commands map[string]*pods.Command, image string) *pods.Command {
	if c := commands[image]; c != nil {
		return c
	}
	return commands[imageRepo(image)]
}

// binaryFor maps a container image to the binary it names.
func binaryFor(binDir, image string) (string, error) {
	rest, ok := strings.CutPrefix(image, ImageRegistry)
	if !ok {
		return "", fmt.Errorf("image %q: this node runs only %sNAME images (the binary NAME in %s)", image, ImageRegistry, binDir)
	}
	if i := strings.IndexAny(rest, ":@"); i >= 0 {
		rest = rest[:i]
	}
	if !imageName.MatchString(rest) {
		return "", fmt.Errorf("image %q: want %sNAME with NAME a binary name such as fn", image, ImageRegistry)
	}
	return filepath.Join(binDir, rest), nil
}

// podSpec is what the node takes from a Pod.
type podSpec struct {
	binary string
	// command, when set, is the user's function the image maps to (the
	// node's Commands), run under the runtime contract instead of binary.
	command    *pods.Command
	args       []string
	port       int
	startup    startup
	cc         int
	queueDepth int
	grace      time.Duration
}

// startup is a pod's start-up phases; nil phases take no time.
type startup struct {
	schedule, imagePull, containerStart, appInit dist.Dist
}

// startupPhases are the annotation names after AnnotationStartupPrefix.
var startupPhases = []string{"schedule", "image-pull", "container-start", "app-init"}

// parsePod checks a pod the node is asked to run; commands maps images to
// users' commands (Config.Commands).
func parsePod(binDir string, commands map[string]*pods.Command, pod *corev1.Pod) (podSpec, error) {
	var s podSpec
	if n := len(pod.Spec.Containers); n != 1 {
		return s, fmt.Errorf("pod has %d containers; this node runs pods of one function container (it adds the queue-proxy itself)", n)
	}
	if len(pod.Spec.InitContainers) > 0 {
		return s, errors.New("pod has init containers, which this node does not run")
	}
	c := pod.Spec.Containers[0]
	var err error
	if cmd := commandFor(commands, c.Image); cmd != nil {
		// The image is the user's command; its args follow the
		// command's own, as a container's args follow its entrypoint.
		cc := *cmd
		cc.Argv = append(append([]string(nil), cmd.Argv...), c.Args...)
		cc.Env = append([]string(nil), cmd.Env...)
		s.command = &cc
	} else if s.binary, err = binaryFor(binDir, c.Image); err != nil {
		return s, err
	}
	if len(c.Command) > 0 {
		// The image is the entrypoint; overriding it would name a
		// second binary.
		return s, fmt.Errorf("container %s sets command %q; this node runs the image's binary, give its flags as args", c.Name, c.Command)
	}
	if s.command == nil {
		s.args = append([]string(nil), c.Args...)
	}
	s.port = DefaultPort
	if len(c.Ports) > 0 {
		s.port = int(c.Ports[0].ContainerPort)
	}
	if s.port == MetricsPort {
		return s, fmt.Errorf("container port %d is the queue-proxy's metrics port", s.port)
	}
	phases := map[string]*dist.Dist{"schedule": &s.startup.schedule, "image-pull": &s.startup.imagePull,
		"container-start": &s.startup.containerStart, "app-init": &s.startup.appInit}
	for key, v := range pod.Annotations {
		name, ok := strings.CutPrefix(key, AnnotationStartupPrefix)
		if !ok {
			continue
		}
		dst := phases[name]
		if dst == nil {
			return s, fmt.Errorf("annotation %s: unknown start-up phase %q; want one of %s", key, name, strings.Join(startupPhases, ", "))
		}
		if *dst, err = dist.Parse(v); err != nil {
			return s, fmt.Errorf("annotation %s: %w", key, err)
		}
	}
	for key, dst := range map[string]*int{AnnotationContainerConcurrency: &s.cc, AnnotationQueueDepth: &s.queueDepth} {
		if v, ok := pod.Annotations[key]; ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return s, fmt.Errorf("annotation %s: want a non-negative integer, got %q", key, v)
			}
			*dst = n
		}
	}
	if _, ok := pod.Annotations[AnnotationQueueDepth]; !ok {
		// Enough room that a burst at containerConcurrency queues at
		// the pod rather than failing; the activator bounds the rest.
		s.queueDepth = 1000
	}
	s.grace = 30 * time.Second
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		s.grace = time.Duration(*g) * time.Second
	}
	return s, nil
}

// launch draws one start-up from the pod's phases.
func (s startup) launch(rng *rand.Rand) pods.Launch {
	var l pods.Launch
	for _, d := range []dist.Dist{s.schedule, s.imagePull, s.containerStart} {
		if d != nil {
			l.Delay += max(0, d.Sample(rng))
		}
	}
	if s.appInit != nil {
		l.Args = []string{"--init=" + max(0, s.appInit.Sample(rng)).String()}
	}
	return l
}

// launchCommand is launch for a user's command, whose init is its own: the
// app-init phase is not passed, as on the local platform.
func (s startup) launchCommand(rng *rand.Rand) pods.Launch {
	var l pods.Launch
	for _, d := range []dist.Dist{s.schedule, s.imagePull, s.containerStart} {
		if d != nil {
			l.Delay += max(0, d.Sample(rng))
		}
	}
	return l
}

// podRand seeds a pod's start-up draws from its UID, so one pod's draws
// are the same however often the node restarts its process.
func podRand(uid string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(uid))
	return rand.New(rand.NewPCG(h.Sum64(), 0x5ca1ebe4c4))
}

// ipam hands out pod IPs from a CIDR, lowest free first, skipping the
// network address and the first host (the node's own).
type ipam struct {
	mu    sync.Mutex
	base  uint32
	size  uint32
	inUse map[uint32]bool
}

func newIPAM(cidr string) (*ipam, error) {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, fmt.Errorf("pod CIDR %q: want an IPv4 network such as 198.18.0.0/16", cidr)
	}
	ones, bits := n.Mask.Size()
	if n.IP.To4() == nil || bits != 32 || ones > 29 {
		return nil, fmt.Errorf("pod CIDR %q: want an IPv4 network of at least 8 addresses", cidr)
	}
	return &ipam{base: binary.BigEndian.Uint32(n.IP.To4()), size: 1 << (32 - ones), inUse: map[uint32]bool{}}, nil
}

// gateway is the network's first host, reserved for the node.
func (a *ipam) gateway() string { return ipString(a.base + 1) }

func (a *ipam) allocate() (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for off := uint32(2); off < a.size-1; off++ {
		if !a.inUse[off] {
			a.inUse[off] = true
			return ipString(a.base + off), nil
		}
	}
	return "", errors.New("pod CIDR exhausted")
}

func (a *ipam) release(ip string) {
	p := net.ParseIP(ip).To4()
	if p == nil {
		return
	}
	a.mu.Lock()
	delete(a.inUse, binary.BigEndian.Uint32(p)-a.base)
	a.mu.Unlock()
}

func ipString(v uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return net.IP(b[:]).String()
}
