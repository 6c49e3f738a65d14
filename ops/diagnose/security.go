package diagnose

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
	"time"

	"opsbot/ops/security"
)

func securityChecks() []Check {
	return []Check{
		{Name: "failed logins", Run: checkFailedLogins},
		{Name: "request rates", Run: checkRequestRates},
		{Name: "world-writable files", Run: checkWritable},
		{Name: "tls certificates", Run: checkCerts},
	}
}

type count struct {
	key string
	n   int
}

func topCounts(m map[string]int, n int) []count {
	out := make([]count, 0, len(m))
	for k, v := range m {
		out = append(out, count{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].n > out[j].n || (out[i].n == out[j].n && out[i].key < out[j].key) })
	return out[:min(n, len(out))]
}

func checkFailedLogins(ctx context.Context, e *Env) ([]Finding, error) {
	l, ok := e.Target.Logs["security"]
	if !ok {
		return nil, nil
	}
	lines, err := tailLines(l.Path, 200000, 32<<20)
	if err != nil {
		return nil, fmt.Errorf("security log: %w", err)
	}
	from := e.Now.Add(-time.Hour)
	byIP := map[string]int{}
	total := 0
	for _, ln := range lines {
		if !strings.Contains(strings.ToLower(ln), "login failed") {
			continue
		}
		if at, ok := lineTime(ln); !ok || at.Before(from) {
			continue
		}
		total++
		ip := "?"
		if i := strings.Index(ln, "ip="); i >= 0 {
			ip = strings.Fields(ln[i+3:] + " ")[0]
		}
		byIP[ip]++
	}
	if total == 0 {
		return []Finding{{Title: "no failed logins in the last hour", Score: 1}}, nil
	}
	top := topCounts(byIP, 5)
	var ev []string
	for _, c := range top {
		ev = append(ev, fmt.Sprintf("%s ×%d", c.key, c.n))
	}
	per := float64(max(e.Config.Security.LoginFailedPerIP, 1))
	sc := scale(float64(top[0].n), per/2, per, 5, 55)
	if float64(top[0].n) > per {
		sc = scale(float64(top[0].n), per, per*10, 70, 94)
	}
	f := Finding{Title: fmt.Sprintf("%d failed login(s) in the last hour; most from %s (%d)", total, top[0].key, top[0].n), Score: sc, Evidence: ev}
	if sc >= ScoreNotable {
		f.Next = fmt.Sprintf("block %s at the firewall; %s", top[0].key, verb("logs", "search", `"login failed"`, "--file", "security", "--since", "1h"))
	}
	return []Finding{f}, nil
}

func checkRequestRates(ctx context.Context, e *Env) ([]Finding, error) {
	l, ok := e.Target.Logs["access"]
	if !ok {
		return nil, nil
	}
	lines, err := tailLines(l.Path, 500000, 64<<20)
	if err != nil {
		return nil, fmt.Errorf("access log: %w", err)
	}
	from := e.Now.Add(-time.Hour)
	byIP := map[string]int{}
	for _, ln := range lines {
		i, j := strings.IndexByte(ln, '['), strings.IndexByte(ln, ']')
		if i < 0 || j < i {
			continue
		}
		at, err := time.Parse("02/Jan/2006:15:04:05 -0700", ln[i+1:j])
		if err != nil || at.Before(from) {
			continue
		}
		ip, _, _ := strings.Cut(ln, " ")
		byIP[ip]++
	}
	if len(byIP) == 0 {
		return []Finding{{Title: "no requests in the access log in the last hour", Score: 5}}, nil
	}
	top := topCounts(byIP, 5)
	// An outlier stands far above the typical client (the median).
	all := topCounts(byIP, len(byIP))
	median := float64(all[len(all)/2].n)
	var ev []string
	for _, c := range top {
		ev = append(ev, fmt.Sprintf("%s ×%d", c.key, c.n))
	}
	ev = append(ev, fmt.Sprintf("median client: %.0f requests", median))
	limit := float64(max(e.Config.Security.RequestsPerIP, 1))
	n := float64(top[0].n)
	sc := scale(n/max(median, 1), 5, 50, 3, 45)
	if n > limit {
		sc = max(sc, scale(n, limit, limit*10, 65, 92))
	}
	f := Finding{Title: fmt.Sprintf("busiest client %s: %d requests in the last hour", top[0].key, top[0].n), Score: sc, Evidence: ev}
	if sc >= ScoreNotable {
		f.Next = fmt.Sprintf("rate-limit or block %s", top[0].key)
	}
	return []Finding{f}, nil
}

func checkWritable(ctx context.Context, e *Env) ([]Finding, error) {
	roots := e.Config.Security.WritableRoots
	if len(roots) == 0 && e.Target.Workdir != "" {
		roots = []string{e.Target.Workdir}
	}
	if len(roots) == 0 {
		return nil, nil
	}
	fs, err := security.WorldWritable(ctx, roots, e.Config.Security.WritableGlobs)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if len(fs) == 0 {
		if err != nil {
			return nil, err
		}
		return []Finding{{Title: "no world-writable files under " + strings.Join(roots, ", "), Score: 1}}, nil
	}
	var ev []string
	for _, f := range fs[:min(5, len(fs))] {
		ev = append(ev, f.Summary)
	}
	return []Finding{{Title: fmt.Sprintf("%d world-writable file(s)", len(fs)), Score: scale(float64(len(fs)), 1, 20, 65, 85), Evidence: ev,
		Next: "by hand: chmod o-w on them (opsbot changes no modes)"}}, nil
}

func checkCerts(ctx context.Context, e *Env) ([]Finding, error) {
	var out []Finding
	warn := e.Config.Security.TLSWarn
	for _, raw := range e.Config.Security.TLSURLs {
		u, err := url.Parse(raw)
		if err != nil || u.Hostname() == "" {
			continue
		}
		port := u.Port()
		if port == "" {
			port = "443"
		}
		// The chain is read, not verified: an expired certificate is still dated.
		cfg := &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: true} //nolint:gosec // reading dates only
		td := &tls.Dialer{NetDialer: &net.Dialer{}, Config: cfg}
		c, err := td.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			out = append(out, Finding{Title: fmt.Sprintf("TLS of %s cannot be read: %s", raw, clip(err.Error(), 120)), Score: 40})
			continue
		}
		st := c.(*tls.Conn).ConnectionState()
		c.Close()
		if len(st.PeerCertificates) == 0 {
			continue
		}
		left := st.PeerCertificates[0].NotAfter.Sub(e.Now)
		f := Finding{Title: fmt.Sprintf("TLS certificate of %s: %s left", raw, Days(max(left, 0))), Evidence: []string{st.PeerCertificates[0].NotAfter.UTC().Format("2006-01-02")}}
		w := max(warn.Hours(), 24)
		f.Score = scale(w-left.Hours(), 0, w, 3, 90)
		if left <= 0 {
			f.Title, f.Score = fmt.Sprintf("TLS certificate of %s has expired", raw), 95
		}
		if f.Score >= ScoreNotable {
			f.Next = "renew the certificate"
		}
		out = append(out, f)
	}
	return out, nil
}
