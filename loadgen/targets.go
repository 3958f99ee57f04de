package loadgen

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// headerArrival carries a request's arrival (intended offset in nanoseconds
// and function index, "at/fn") from the Targeter to the transport, which
// files it under vegeta's sequence number so the result can be matched back.
const headerArrival = "X-Scalebench-Arrival"

// headerSeq is the header vegeta numbers every request with.
const headerSeq = "X-Vegeta-Seq"

// NewTargeter returns a vegeta Targeter that takes each hit's arrival from
// p, sends it to urls[arrival.Function] (or to the only URL, if there is one) with the arrival's work as the
// WorkParam query parameter, and tags it with the arrival for the recorder.
func NewTargeter(p *Pacer, method string, urls []string) (vegeta.Targeter, error) {
	if len(urls) == 0 {
		return nil, errors.New("no target URLs")
	}
	seps := make([]string, len(urls))
	for i, u := range urls {
		if _, err := url.Parse(u); err != nil {
			return nil, fmt.Errorf("target %q: %v", u, err)
		}
		seps[i] = "?"
		if strings.Contains(u, "?") {
			seps[i] = "&"
		}
	}
	return func(t *vegeta.Target) error {
		a, ok := p.Take()
		if !ok {
			return errors.New("loadgen: hit without a paced arrival")
		}
		i := a.Function
		if len(urls) == 1 {
			// One URL serves every function of the traffic.
			i = 0
		}
		if i < 0 || i >= len(urls) {
			return fmt.Errorf("arrival for function %d, but only %d targets", a.Function, len(urls))
		}
		t.Method = method
		t.URL = urls[i]
		if a.Work > 0 {
			t.URL += seps[i] + WorkParam + "=" + a.Work.String()
		}
		buf := make([]byte, 0, 24)
		buf = strconv.AppendInt(buf, int64(a.At), 10)
		buf = append(buf, '/')
		buf = strconv.AppendInt(buf, int64(a.Function), 10)
		t.Header = map[string][]string{headerArrival: {string(buf)}}
		return nil
	}, nil
}

// withHeader adds h to every target tr makes.
func withHeader(tr vegeta.Targeter, h http.Header) vegeta.Targeter {
	if len(h) == 0 {
		return tr
	}
	return func(t *vegeta.Target) error {
		if err := tr(t); err != nil {
			return err
		}
		if t.Header == nil {
			t.Header = http.Header{}
		}
		for k, vs := range h {
			t.Header[k] = append(t.Header[k], vs...)
		}
		return nil
	}
}

// ParseHeader reads one --header value, "Name: value".
func ParseHeader(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, ":")
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") || strings.ContainsAny(value, "\r\n") {
		return "", "", fmt.Errorf("header %q: want \"Name: value\"", s)
	}
	return http.CanonicalHeaderKey(name), value, nil
}

// ParseTarget reads one --target value: "URL" (for a single-function
// pattern; name is "") or "name=URL". The URL must be absolute http(s).
func ParseTarget(s string) (name, rawURL string, err error) {
	rawURL = s
	if i := strings.Index(s, "="); i >= 0 && !strings.Contains(s[:i], "/") && !strings.Contains(s[:i], ":") {
		name, rawURL = s[:i], s[i+1:]
		if name == "" {
			return "", "", fmt.Errorf("target %q: empty function name before '='", s)
		}
	}
	u, err := checkURL(rawURL)
	if err != nil {
		return "", "", fmt.Errorf("target %q: %v", s, err)
	}
	// The canonical form: a scheme written "HTTP://" is valid but would
	// not match the transport's "http" checks.
	return name, u.String(), nil
}

func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("want an http:// or https:// URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("want an http:// or https:// URL")
	}
	if u.Hostname() == "" {
		return nil, errors.New("URL has no host")
	}
	if u.Port() != "" {
		if n, err := strconv.Atoi(u.Port()); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("bad port %q", u.Port())
		}
	}
	return u, nil
}

// IsLoopbackHost reports whether host names this machine only: a loopback
// IP literal, "localhost" or a name under ".localhost" (RFC 6761). Other
// names are not resolved here: the dialer checks every address it connects
// to as well.
func IsLoopbackHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// CheckLoopback refuses a URL whose host is not loopback.
func CheckLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if !IsLoopbackHost(u.Hostname()) {
		return fmt.Errorf("target %s is not on this machine (loopback); pass --allow-remote to send load elsewhere", raw)
	}
	return nil
}

// MapTargets resolves --target values for the named functions of a
// scenario, in order: "name=URL" for one function, a bare URL for every
// function not named otherwise. Each function must end up with a URL, and
// every name must be one of the functions.
func MapTargets(functions []string, specs []string) ([]string, error) {
	if len(functions) == 0 {
		return nil, errors.New("no functions to map targets to")
	}
	index := make(map[string]int, len(functions))
	for i, f := range functions {
		index[f] = i
	}
	urls := make([]string, len(functions))
	fallback := ""
	for _, s := range specs {
		name, u, err := ParseTarget(s)
		if err != nil {
			return nil, err
		}
		if name == "" {
			if fallback != "" {
				return nil, fmt.Errorf("more than one unnamed --target (%s, %s); name them function=URL", fallback, u)
			}
			fallback = u
			continue
		}
		i, ok := index[name]
		if !ok {
			return nil, fmt.Errorf("--target %s: no function %q (functions: %s)", s, name, strings.Join(functions, ", "))
		}
		if urls[i] != "" {
			return nil, fmt.Errorf("--target for function %q given twice", name)
		}
		urls[i] = u
	}
	for i, u := range urls {
		if u != "" {
			continue
		}
		if fallback == "" {
			return nil, fmt.Errorf("no --target for function %q; give %s=URL or one bare URL", functions[i], functions[i])
		}
		urls[i] = fallback
	}
	return urls, nil
}
