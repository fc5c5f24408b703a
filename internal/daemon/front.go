package daemon

import (
	"crypto/subtle"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
)

// frontDoor is what every HTTP request passes before the API and the console: the reverse
// proxies custodyd trusts ([http] trusted_proxies), HSTS on HTTPS, and the guard of /metrics.
//
// Behind a trusted proxy (nginx terminating TLS) the client's address is the last address in
// X-Forwarded-For that is not itself a trusted proxy, and a request the proxy received over
// HTTPS (X-Forwarded-Proto: https) is marked as TLS — r.TLS set — so that cookies get their
// Secure flag and HSTS is sent exactly as with native TLS. From anyone else the X-Forwarded-*
// headers are removed: a client cannot claim another address or HTTPS.
type frontDoor struct {
	trusted []netip.Prefix
}

// proxiedTLS marks a request that reached a trusted proxy over HTTPS.
var proxiedTLS = &tls.ConnectionState{}

func (f frontDoor) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.fromTrusted(r.RemoteAddr) {
			if client := f.client(r.Header.Values("X-Forwarded-For")); client != "" {
				r.RemoteAddr = net.JoinHostPort(client, "0")
			}
			if strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https") && r.TLS == nil {
				r.TLS = proxiedTLS
			}
		} else {
			for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-Ip", "Forwarded"} {
				r.Header.Del(k)
			}
		}
		if r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.ServeHTTP(w, r)
	})
}

func (f frontDoor) fromTrusted(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return f.trusts(ip.Unmap())
}

func (f frontDoor) trusts(ip netip.Addr) bool {
	for _, p := range f.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// client walks X-Forwarded-For from the right (the hop nearest us) past trusted proxies; the
// first other address is the client. Addresses further left were written by the client itself.
func (f frontDoor) client(values []string) string {
	var hops []string
	for _, v := range values {
		for _, h := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		ip, err := netip.ParseAddr(hops[i])
		if err != nil {
			return ""
		}
		if !f.trusts(ip.Unmap()) {
			return ip.Unmap().String()
		}
	}
	return ""
}

// parseProxies reads [http] trusted_proxies: addresses or CIDR prefixes.
func parseProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or a CIDR prefix like 10.0.0.0/8", s)
		}
		out = append(out, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
	}
	return out, nil
}

// metricsGuard guards /metrics on the main port: gone when it has its own listener, behind a
// bearer token when one is configured, open otherwise (the default, on loopback).
func metricsGuard(h http.Handler, ownListener bool, token string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case ownListener:
			http.NotFound(w, r)
		case token != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+token)) != 1:
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need Authorization: Bearer <[http] metrics_token>", http.StatusUnauthorized)
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// secret is a config secret given inline or, preferably, in a file (value_file): the file wins
// and its trailing newline is dropped.
func secret(inline, file string) (string, error) {
	if file == "" {
		return inline, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
