package diagnose

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

func llmChecks() []Check {
	return []Check{
		{Name: "api key", Run: checkAPIKey},
		{Name: "vendor host", Run: checkVendor},
		{Name: "llm log", Run: checkLLMLog},
	}
}

func envFileOf(e *Env) string {
	if e.Target.Service.EnvFile != "" {
		return e.Target.Service.EnvFile
	}
	if e.Target.Workdir == "" {
		return ""
	}
	return filepath.Join(e.Target.Workdir, ".env")
}

// lengthClass words a key's length without revealing it.
func lengthClass(n int) string {
	switch {
	case n == 0:
		return "empty"
	case n < 20:
		return "short (under 20 characters)"
	case n <= 64:
		return "usual length (20–64 characters)"
	}
	return "long (over 64 characters)"
}

func checkAPIKey(ctx context.Context, e *Env) ([]Finding, error) {
	path := envFileOf(e)
	if path == "" {
		return nil, nil
	}
	want := e.Target.Service.APIKeyVar
	f, err := os.Open(path)
	if err != nil {
		return []Finding{{Title: "the service's settings file cannot be read: " + err.Error(), Score: 45, Evidence: []string{path}}}, nil
	}
	defer f.Close()
	name, length, found := "", 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		if (want != "" && k == want) || (want == "" && strings.HasSuffix(k, "API_KEY")) {
			name, found = k, true
			length = len(strings.Trim(strings.TrimSpace(v), `"'`))
			break
		}
	}
	var next string
	if name == "" {
		name = want
		if name == "" {
			name = "*_API_KEY"
		}
	}
	next = fmt.Sprintf("set %s in %s, then %s", name, path, verb("restart", e.Target.Name))
	// The key itself is never read into a finding: present or not, and its length class.
	switch {
	case !found:
		return []Finding{{Title: fmt.Sprintf("no %s in the service's settings", name), Score: 90, Evidence: []string{path}, Next: next}}, nil
	case length == 0:
		return []Finding{{Title: fmt.Sprintf("%s is set but empty", name), Score: 90, Evidence: []string{path}, Next: next}}, nil
	case length < 20:
		return []Finding{{Title: fmt.Sprintf("%s is present but %s", name, lengthClass(length)), Score: 35, Evidence: []string{path}, Next: next}}, nil
	}
	return []Finding{{Title: fmt.Sprintf("%s is present, %s", name, lengthClass(length)), Score: 2, Evidence: []string{path}}}, nil
}

func checkVendor(ctx context.Context, e *Env) ([]Finding, error) {
	raw := e.Target.LLM.URL
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return []Finding{{Title: "the LLM URL is not a URL: " + clip(raw, 80), Score: 60}}, nil
	}
	host := u.Hostname()
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	restart := verb("restart", e.Target.Name)
	start := time.Now()
	addrs, err := net.DefaultResolver.LookupHost(ctx, host)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return []Finding{{Title: fmt.Sprintf("the vendor host %s does not resolve", host), Score: 88, Evidence: []string{clip(err.Error(), 200)},
			Next: "check DNS and the host's network, then " + restart}}, nil
	}
	ev := []string{fmt.Sprintf("%s → %s (%d ms)", host, strings.Join(addrs[:min(3, len(addrs))], ", "), time.Since(start).Milliseconds())}
	d := &net.Dialer{}
	addr := net.JoinHostPort(host, port)
	if u.Scheme != "https" {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return []Finding{{Title: fmt.Sprintf("the vendor %s refuses connections", addr), Score: 85, Evidence: append(ev, clip(err.Error(), 200))}}, nil
		}
		c.Close()
		return []Finding{{Title: fmt.Sprintf("the vendor %s accepts connections", addr), Score: 2, Evidence: ev}}, nil
	}
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if e.TLS != nil {
		cfg = e.TLS.Clone()
		cfg.ServerName = host
	}
	td := &tls.Dialer{NetDialer: d, Config: cfg}
	hs := time.Now()
	c, err := td.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ce *tls.CertificateVerificationError
		title := fmt.Sprintf("the TLS handshake with %s fails", addr)
		if errors.As(err, &ce) {
			title += " (certificate not trusted)"
		}
		return []Finding{{Title: title, Score: 84, Evidence: append(ev, clip(err.Error(), 200))}}, nil
	}
	st := c.(*tls.Conn).ConnectionState()
	c.Close()
	if len(st.PeerCertificates) > 0 {
		left := st.PeerCertificates[0].NotAfter.Sub(e.Now)
		ev = append(ev, fmt.Sprintf("certificate valid %s more", Days(left)))
	}
	ev = append(ev, fmt.Sprintf("TLS handshake %d ms", time.Since(hs).Milliseconds()))
	return []Finding{{Title: fmt.Sprintf("the vendor %s resolves and completes a TLS handshake", host), Score: 2, Evidence: ev}}, nil
}

var (
	httpCode = regexp.MustCompile(`\b([45]\d\d)\b`)
	quotaRE  = regexp.MustCompile(`(?i)\b429\b|quota|rate.?limit|too many requests`)
)

// llmStats reads the last hour of the LLM log: calls and failures per
// 5-minute slot, errors grouped by code or message.
type llmStats struct {
	slots         [12]struct{ calls, failed int }
	calls, failed int
	groups        map[string]int
	quota         int
	lastErr       string
}

func readLLMLog(path string, now time.Time) (llmStats, error) {
	st := llmStats{groups: map[string]int{}}
	lines, err := tailLines(path, 200000, 32<<20)
	if err != nil {
		return st, err
	}
	from := now.Add(-time.Hour)
	for _, ln := range lines {
		at, ok := lineTime(ln)
		if !ok || at.Before(from) || at.After(now.Add(time.Minute)) {
			continue
		}
		lv := lineLevel(ln)
		isErr := lv == "ERROR" || lv == "CRITICAL" || strings.Contains(ln, "LLM API Error")
		isCall := isErr || strings.Contains(ln, "LLM API call")
		if !isCall {
			continue
		}
		slot := min(int(at.Sub(from)/(5*time.Minute)), 11)
		st.slots[slot].calls++
		st.calls++
		if !isErr {
			continue
		}
		st.slots[slot].failed++
		st.failed++
		msg := ln
		if i := strings.Index(ln, "LLM API Error"); i >= 0 {
			msg = strings.TrimSpace(strings.TrimPrefix(ln[i:], "LLM API Error"))
			msg = strings.TrimLeft(msg, ": ")
		}
		key := clip(msg, 60)
		if m := httpCode.FindStringSubmatch(msg); m != nil {
			key = m[1]
		}
		st.groups[key]++
		if quotaRE.MatchString(msg) {
			st.quota++
		}
		st.lastErr = ln
	}
	return st, nil
}

func checkLLMLog(ctx context.Context, e *Env) ([]Finding, error) {
	l, ok := e.Target.Logs["llm"]
	if !ok {
		return nil, nil
	}
	st, err := readLLMLog(l.Path, e.Now)
	if err != nil {
		return nil, fmt.Errorf("llm log: %w", err)
	}
	if st.calls == 0 {
		return []Finding{{Title: "no LLM calls logged in the last hour", Score: 15, Evidence: []string{l.Path}}}, nil
	}
	rate := 100 * float64(st.calls-st.failed) / float64(st.calls)
	var slots []string
	for _, s := range st.slots {
		if s.calls == 0 {
			slots = append(slots, "–")
			continue
		}
		slots = append(slots, fmt.Sprintf("%.0f", 100*float64(s.calls-s.failed)/float64(s.calls)))
	}
	ev := []string{fmt.Sprintf("%d calls, %d failed in the last hour (%s)", st.calls, st.failed, l.Path),
		"success % per 5 min, oldest first: " + strings.Join(slots, " ")}
	keys := make([]string, 0, len(st.groups))
	for k := range st.groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return st.groups[keys[i]] > st.groups[keys[j]] || (st.groups[keys[i]] == st.groups[keys[j]] && keys[i] < keys[j])
	})
	var grp []string
	for _, k := range keys[:min(5, len(keys))] {
		grp = append(grp, fmt.Sprintf("%s ×%d", k, st.groups[k]))
	}
	if len(grp) > 0 {
		ev = append(ev, "errors: "+strings.Join(grp, ", "))
	}
	if st.lastErr != "" {
		ev = append(ev, clip(st.lastErr, 200))
	}
	th := e.Config.Thresholds.LLMSuccessPct
	fail := 100 - rate
	sc := scale(fail, 100-th.Normal, 100-th.Alert, 3, 60)
	if rate < th.Alert {
		sc = scale(fail, 100-th.Alert, 60, 70, 94)
	}
	out := []Finding{{Title: fmt.Sprintf("LLM success rate %s over the last hour", pct(rate)), Score: sc, Evidence: ev}}
	if sc >= ScoreNotable {
		out[0].Next = verb("logs", "search", `"LLM API Error"`, "--file", "llm", "--since", "1h")
	}
	if st.quota > 0 {
		share := float64(st.quota) / float64(max(st.failed, 1))
		out = append(out, Finding{Title: fmt.Sprintf("%d rate-limit or quota answer(s) from the vendor in the last hour", st.quota),
			Score: scale(share, 0, 1, 20, 50) + scale(fail, 0, 50, 0, 40), Evidence: []string{fmt.Sprintf("%.0f %% of the failures", 100*share)},
			Next: "check the vendor's quota; with a new key, " + verb("restart", e.Target.Name)})
	}
	return out, nil
}
