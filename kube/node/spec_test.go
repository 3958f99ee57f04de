package node

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/scalebench/scalebench/platform/pods"
)

func TestBinaryFor(t *testing.T) {
	for _, tc := range []struct {
		name, image, want, err string
	}{
		{name: "plain", image: "scalebench.dev/fn", want: "/opt/bin/fn"},
		{name: "tag", image: "scalebench.dev/fn:v1", want: "/opt/bin/fn"},
		{name: "digest", image: "scalebench.dev/fn@sha256:abc", want: "/opt/bin/fn"},
		{name: "other registry", image: "nginx:1.27", err: "runs only scalebench.dev/NAME"},
		{name: "path escape", image: "scalebench.dev/../etc/passwd", err: "want scalebench.dev/NAME"},
		{name: "nested", image: "scalebench.dev/a/b", err: "want scalebench.dev/NAME"},
		{name: "empty name", image: "scalebench.dev/", err: "want scalebench.dev/NAME"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := binaryFor("/opt/bin", tc.image)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func fnPod(annotations map[string]string, mutate func(*corev1.PodSpec)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Annotations: annotations},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "fn", Image: "scalebench.dev/fn", Args: []string{"--work=5ms"}}}},
	}
	if mutate != nil {
		mutate(&p.Spec)
	}
	return p
}

func TestParsePod(t *testing.T) {
	grace := int64(3)
	for _, tc := range []struct {
		name  string
		pod   *corev1.Pod
		err   string
		check func(t *testing.T, s podSpec)
	}{
		{name: "defaults", pod: fnPod(nil, nil), check: func(t *testing.T, s podSpec) {
			if s.binary != "/b/fn" || s.port != DefaultPort || s.cc != 0 || s.queueDepth != 1000 || s.grace != 30*time.Second {
				t.Errorf("spec %+v", s)
			}
			if len(s.args) != 1 || s.args[0] != "--work=5ms" {
				t.Errorf("args %v", s.args)
			}
		}},
		{name: "port, concurrency, grace", pod: fnPod(map[string]string{AnnotationContainerConcurrency: "4", AnnotationQueueDepth: "7"}, func(s *corev1.PodSpec) {
			s.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 9000}}
			s.TerminationGracePeriodSeconds = &grace
		}), check: func(t *testing.T, s podSpec) {
			if s.port != 9000 || s.cc != 4 || s.queueDepth != 7 || s.grace != 3*time.Second {
				t.Errorf("spec %+v", s)
			}
		}},
		{name: "start-up phases", pod: fnPod(map[string]string{
			AnnotationStartupPrefix + "schedule": "100ms", AnnotationStartupPrefix + "image-pull": "fixed:200ms",
			AnnotationStartupPrefix + "container-start": "300ms", AnnotationStartupPrefix + "app-init": "400ms"}, nil),
			check: func(t *testing.T, s podSpec) {
				l := s.startup.launch(podRand("uid"))
				if l.Delay != 600*time.Millisecond || len(l.Args) != 1 || l.Args[0] != "--init=400ms" {
					t.Errorf("launch %+v", l)
				}
			}},
		{name: "no phases", pod: fnPod(nil, nil), check: func(t *testing.T, s podSpec) {
			if l := s.startup.launch(podRand("uid")); l.Delay != 0 || l.Args != nil {
				t.Errorf("launch %+v", l)
			}
		}},
		{name: "unknown phase", pod: fnPod(map[string]string{AnnotationStartupPrefix + "warmup": "1s"}, nil), err: `unknown start-up phase "warmup"`},
		{name: "bad phase", pod: fnPod(map[string]string{AnnotationStartupPrefix + "app-init": "soon"}, nil), err: "startup.scalebench.dev/app-init"},
		{name: "bad concurrency", pod: fnPod(map[string]string{AnnotationContainerConcurrency: "-1"}, nil), err: "non-negative integer"},
		{name: "two containers", pod: fnPod(nil, func(s *corev1.PodSpec) { s.Containers = append(s.Containers, s.Containers[0]) }), err: "2 containers"},
		{name: "command", pod: fnPod(nil, func(s *corev1.PodSpec) { s.Containers[0].Command = []string{"/bin/sh"} }), err: "sets command"},
		{name: "metrics port", pod: fnPod(nil, func(s *corev1.PodSpec) { s.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: MetricsPort}} }), err: "metrics port"},
		{name: "init containers", pod: fnPod(nil, func(s *corev1.PodSpec) { s.InitContainers = s.Containers }), err: "init containers"},
		{name: "user's image", pod: fnPod(map[string]string{AnnotationStartupPrefix + "container-start": "300ms", AnnotationStartupPrefix + "app-init": "400ms"},
			func(s *corev1.PodSpec) { s.Containers[0].Image = "registry.example:5000/team/myserver:v2" }),
			check: func(t *testing.T, s podSpec) {
				if s.binary != "" || s.command == nil || strings.Join(s.command.Argv, " ") != "/srv/myserver --flag --work=5ms" || s.args != nil {
					t.Errorf("spec %+v, command %+v: want the mapped command with the container's args after its own", s, s.command)
				}
				if s.command.PortEnv != "PORT" || len(s.command.Env) != 1 {
					t.Errorf("command %+v", s.command)
				}
				// The user's init is its own: app-init is not passed.
				if l := s.startup.launchCommand(podRand("uid")); l.Delay != 300*time.Millisecond || l.Args != nil {
					t.Errorf("launch %+v", l)
				}
			}},
		{name: "user's image by digest", pod: fnPod(nil, func(s *corev1.PodSpec) { s.Containers[0].Image = "registry.example:5000/team/myserver@sha256:abc" }),
			check: func(t *testing.T, s podSpec) {
				if s.command == nil {
					t.Errorf("spec %+v: want the mapped command", s)
				}
			}},
		{name: "unmapped image", pod: fnPod(nil, func(s *corev1.PodSpec) { s.Containers[0].Image = "registry.example:5000/team/other" }), err: "runs only scalebench.dev/NAME"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parsePod("/b", userCommands, tc.pod)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s)
		})
	}
}

var userCommands = map[string]*pods.Command{
	"registry.example:5000/team/myserver": {Argv: []string{"/srv/myserver", "--flag"}, Env: []string{"A=1"}, PortEnv: "PORT"},
}

func TestImageRepo(t *testing.T) {
	for _, tc := range []struct{ image, want string }{
		{"myserver", "myserver"},
		{"myserver:v1", "myserver"},
		{"registry:5000/myserver", "registry:5000/myserver"},
		{"registry:5000/myserver:v1", "registry:5000/myserver"},
		{"registry:5000/myserver@sha256:abc", "registry:5000/myserver"},
		{"myserver:v1@sha256:abc", "myserver"},
	} {
		t.Run(tc.image, func(t *testing.T) {
			if got := imageRepo(tc.image); got != tc.want {
				t.Fatalf("imageRepo(%q) = %q, want %q", tc.image, got, tc.want)
			}
		})
	}
}

func TestPodRandIsPerPod(t *testing.T) {
	a, b, c := podRand("one").Uint64(), podRand("one").Uint64(), podRand("two").Uint64()
	if a != b || a == c {
		t.Fatalf("draws %d %d %d: want the same for one UID, different for another", a, b, c)
	}
}

func TestIPAM(t *testing.T) {
	a, err := newIPAM("198.18.0.0/29")
	if err != nil {
		t.Fatal(err)
	}
	if g := a.gateway(); g != "198.18.0.1" {
		t.Fatalf("gateway %s", g)
	}
	var got []string
	for {
		ip, err := a.allocate()
		if err != nil {
			break
		}
		got = append(got, ip)
	}
	// .0 is the network, .1 the node, .7 the broadcast address.
	if want := "198.18.0.2 198.18.0.3 198.18.0.4 198.18.0.5 198.18.0.6"; strings.Join(got, " ") != want {
		t.Fatalf("allocated %v, want %s", got, want)
	}
	a.release("198.18.0.4")
	if ip, err := a.allocate(); err != nil || ip != "198.18.0.4" {
		t.Fatalf("after release got %s %v, want the freed 198.18.0.4", ip, err)
	}
	for _, bad := range []string{"nonsense", "::1/64", "10.0.0.0/30"} {
		if _, err := newIPAM(bad); err == nil {
			t.Errorf("newIPAM(%q) accepted", bad)
		}
	}
}
