package cluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// ca is a certificate authority made at start; nothing outside this
// control plane trusts it.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

// certValidity covers any run; a control plane lives for minutes to days.
const certValidity = 365 * 24 * time.Hour

func newCA(name string) (*ca, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &ca{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// keyPair is a PEM certificate and key signed by a ca.
type keyPair struct {
	cert, key []byte
}

// issue signs a certificate for a client (CN = user, O = groups) or, with
// hosts, for a server on those names and addresses.
func (c *ca) issue(cn string, orgs []string, hosts []string) (keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return keyPair{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn, Organization: orgs},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if len(hosts) > 0 {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		for _, h := range hosts {
			if ip := net.ParseIP(h); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		return keyPair{}, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return keyPair{}, err
	}
	return keyPair{
		cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
	}, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
}

// pki is every certificate and key the control plane needs, written to dir.
type pki struct {
	dir string
	// cluster signs serving certificates and client certificates; the
	// front proxy signs the aggregator's client certificate, which
	// extension API servers (the custom-metrics adapter) trust.
	cluster, frontProxy *ca
	admin               keyPair
	controllerManager   keyPair
	scheduler           keyPair
}

// File names under pki.dir.
const (
	caFile            = "ca.crt"
	caKeyFile         = "ca.key"
	serverCertFile    = "apiserver.crt"
	serverKeyFile     = "apiserver.key"
	frontProxyCAFile  = "front-proxy-ca.crt"
	proxyClientCert   = "front-proxy-client.crt"
	proxyClientKey    = "front-proxy-client.key"
	serviceAccountKey = "sa.key"
	serviceAccountPub = "sa.pub"
)

// newPKI generates the certificates for an API server at serviceIP and on
// loopback, and writes those the components read from files.
func newPKI(dir string, serviceIP string) (*pki, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := &pki{dir: dir}
	var err error
	if p.cluster, err = newCA("scalebench-cluster-ca"); err != nil {
		return nil, err
	}
	if p.frontProxy, err = newCA("scalebench-front-proxy-ca"); err != nil {
		return nil, err
	}
	server, err := p.cluster.issue("kube-apiserver", nil, []string{"127.0.0.1", "localhost", serviceIP,
		"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"})
	if err != nil {
		return nil, err
	}
	proxy, err := p.frontProxy.issue("front-proxy-client", nil, nil)
	if err != nil {
		return nil, err
	}
	if p.admin, err = p.cluster.issue("scalebench-admin", []string{"system:masters"}, nil); err != nil {
		return nil, err
	}
	if p.controllerManager, err = p.cluster.issue("system:kube-controller-manager", nil, nil); err != nil {
		return nil, err
	}
	if p.scheduler, err = p.cluster.issue("system:kube-scheduler", nil, nil); err != nil {
		return nil, err
	}
	// Service account tokens are signed with RSA, which every client of
	// the token review and OIDC discovery paths accepts.
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	saPub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, err
	}
	caKey, err := x509.MarshalECPrivateKey(p.cluster.key)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		caFile:            p.cluster.pem,
		caKeyFile:         pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: caKey}),
		serverCertFile:    server.cert,
		serverKeyFile:     server.key,
		frontProxyCAFile:  p.frontProxy.pem,
		proxyClientCert:   proxy.cert,
		proxyClientKey:    proxy.key,
		serviceAccountKey: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)}),
		serviceAccountPub: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPub}),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return nil, fmt.Errorf("cluster: write %s: %w", name, err)
		}
	}
	return p, nil
}

func (p *pki) path(name string) string { return filepath.Join(p.dir, name) }
