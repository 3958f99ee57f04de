package cluster

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The release is chosen in test/controlplane/go.mod; the constant must say
// the same.
func TestKubernetesVersionMatchesControlPlaneModule(t *testing.T) {
	data, err := os.ReadFile("../../test/controlplane/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*(?:require )?k8s.io/kubernetes (v\S+)`).FindSubmatch(data)
	if m == nil {
		t.Fatal("test/controlplane/go.mod: no k8s.io/kubernetes requirement")
	}
	if string(m[1]) != KubernetesVersion {
		t.Fatalf("test/controlplane builds %s, KubernetesVersion says %s", m[1], KubernetesVersion)
	}
	// Every staging module is pinned to the same release.
	want := "v0" + strings.TrimPrefix(KubernetesVersion, "v1")
	for _, line := range regexp.MustCompile(`(?m)^\tk8s.io/\S+ => k8s.io/\S+ (\S+)$`).FindAllSubmatch(data, -1) {
		if string(line[1]) != want {
			t.Errorf("replace pins %s, want %s", line[1], want)
		}
	}
}

func TestPKI(t *testing.T) {
	dir := t.TempDir()
	p, err := newPKI(dir, "198.19.0.1")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.cluster.pem)
	parse := func(t *testing.T, data []byte) *x509.Certificate {
		b, _ := pem.Decode(data)
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	server, err := os.ReadFile(filepath.Join(dir, serverCertFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, host string
		usage      x509.ExtKeyUsage
		cert       []byte
	}{
		{name: "server on loopback", host: "127.0.0.1", usage: x509.ExtKeyUsageServerAuth, cert: server},
		{name: "server by service IP", host: "198.19.0.1", usage: x509.ExtKeyUsageServerAuth, cert: server},
		{name: "server by service name", host: "kubernetes.default.svc", usage: x509.ExtKeyUsageServerAuth, cert: server},
		{name: "admin client", usage: x509.ExtKeyUsageClientAuth, cert: p.admin.cert},
		{name: "controller-manager client", usage: x509.ExtKeyUsageClientAuth, cert: p.controllerManager.cert},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := parse(t, tc.cert)
			if _, err := c.Verify(x509.VerifyOptions{DNSName: tc.host, Roots: pool, KeyUsages: []x509.ExtKeyUsage{tc.usage}}); err != nil {
				t.Fatal(err)
			}
		})
	}
	if admin := parse(t, p.admin.cert); len(admin.Subject.Organization) != 1 || admin.Subject.Organization[0] != "system:masters" {
		t.Errorf("admin groups %v, want system:masters", admin.Subject.Organization)
	}
	for _, f := range []string{caFile, frontProxyCAFile, proxyClientCert, proxyClientKey, serviceAccountKey, serviceAccountPub} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
}

func TestStartNeedsBinaries(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		err  string
	}{
		{name: "no dir", cfg: Config{}, err: "state directory"},
		{name: "no etcd", cfg: Config{Dir: t.TempDir(), Etcd: "/nonexistent/etcd"}, err: "etcd not found"},
		{name: "no kube binaries", cfg: Config{Dir: t.TempDir(), Etcd: "/bin/true", BinDir: t.TempDir()}, err: "make controlplane"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Start(context.Background(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestDownWithoutClusterIsNoop(t *testing.T) {
	if err := Down(t.TempDir(), time.Second); err != nil {
		t.Fatal(err)
	}
}
