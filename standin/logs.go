package standin

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/klauspost/compress/gzip"
)

// logNames are the guide's six logs and their formats. The security log
// carries the source address as "ip=<addr>" after the level:
//
//	2026-11-25T10:00:00.123+08:00 WARNING login failed user=alice ip=203.0.113.7
var logNames = []struct{ name, format string }{
	{"app", "app_iso"},
	{"error", "app_iso"},
	{"access", "nginx_timed"},
	{"llm", "app_iso"},
	{"performance", "app_iso"},
	{"security", "app_iso"},
}

const (
	isoLayout   = "2006-01-02T15:04:05.000-07:00"
	nginxLayout = "02/Jan/2006:15:04:05 -0700"
)

// BurstKind names a burst of misbehaviour written into the logs.
type BurstKind string

const (
	BurstErrors    BurstKind = "errors"  // ERROR lines in error.log and app.log
	BurstLogins    BurstKind = "logins"  // "login failed" lines from one IP in security.log
	Burst5xx       BurstKind = "5xx"     // 5xx answers in access.log
	BurstSlow      BurstKind = "slow"    // slow answers (3.5 s) in access.log
	BurstLLMErrors BurstKind = "llm"     // "LLM API Error" lines in llm.log
	BurstFlood     BurstKind = "flood"   // many requests from one IP in access.log
	BurstSecrets   BurstKind = "secrets" // lines carrying secrets in app.log (redaction tests)
	defaultBurstIP           = "203.0.113.66"
)

// BurstKinds lists the kinds Burst accepts.
var BurstKinds = []BurstKind{BurstErrors, BurstLogins, Burst5xx, BurstSlow, BurstLLMErrors, BurstFlood, BurstSecrets}

// Burst writes n lines of the given misbehaviour now; ip is the source of
// logins and floods (a documentation address when empty).
func (b *Backend) Burst(kind BurstKind, n int, ip string) error {
	if n <= 0 || n > 1_000_000 {
		return fmt.Errorf("standin: burst size %d out of range 1..1000000", n)
	}
	if ip == "" {
		ip = defaultBurstIP
	}
	b.logMu.Lock()
	defer b.logMu.Unlock()
	now := b.opts.Now()
	out := map[string]*bytes.Buffer{}
	w := func(name string) *bytes.Buffer {
		if out[name] == nil {
			out[name] = &bytes.Buffer{}
		}
		return out[name]
	}
	for i := 0; i < n; i++ {
		switch kind {
		case BurstErrors:
			msg := b.pick(errorMessages)
			b.appLine(w("error"), now, "ERROR", msg)
			b.appLine(w("app"), now, "ERROR", msg)
		case BurstLogins:
			b.appLine(w("security"), now, "WARNING", fmt.Sprintf("login failed user=%s ip=%s", b.pick(users), ip))
		case Burst5xx:
			b.accessLine(w("access"), now, b.clientIP(), 500+b.pick3(0, 2, 3), 0)
		case BurstSlow:
			b.accessLine(w("access"), now, b.clientIP(), 200, 3500*time.Millisecond)
		case BurstLLMErrors:
			b.appLine(w("llm"), now, "ERROR", "LLM API Error: "+b.pick(llmErrors))
		case BurstFlood:
			b.accessLine(w("access"), now, ip, 200, 0)
		case BurstSecrets:
			b.appLine(w("app"), now, "INFO", b.pick(secretLines))
		default:
			return fmt.Errorf("standin: unknown burst kind %q", kind)
		}
	}
	return b.flushLocked(out)
}

var (
	errorMessages = []string{
		"database is locked while saving session",
		"Traceback (most recent call last): TimeoutError in /api/chat",
		"failed to render answer: KeyError 'content'",
		"upload rejected: disk quota exceeded",
		"redis connection reset by peer",
	}
	warnMessages = []string{
		"slow query on messages took 812 ms",
		"retrying LLM call after 429",
		"session token close to expiry",
	}
	infoMessages = []string{
		"POST /api/chat answered",
		"user session started",
		"GET /api/history answered",
		"upload stored",
		"cache hit for lesson plan",
	}
	llmErrors = []string{
		"429 Too Many Requests (quota exceeded)",
		"502 Bad Gateway from vendor",
		"timeout after 30s",
	}
	users       = []string{"alice", "bob", "carol", "dave", "admin", "root", "test"}
	secretLines = []string{
		"calling vendor with api_key=sk-demo-4f9a8b7c6d5e4f3a2b1c",
		"request headers Authorization: Bearer xoxb-111-222-demoTOKENvalue",
		"db connect password=hunter2-demo",
	}
	paths     = []string{"/api/chat", "/api/history", "/api/upload", "/api/lesson", "/health", "/api/login"}
	agents    = []string{"Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/5.0 (iPhone)", "python-requests/2.31", "curl/8.5.0"}
	clientIPs = []string{"198.51.100.7", "198.51.100.23", "192.0.2.14", "192.0.2.101", "203.0.113.9", "10.0.4.17", "10.0.4.18"}
)

func (b *Backend) pick(list []string) string { return list[b.rng.IntN(len(list))] }

func (b *Backend) pick3(xs ...int) int { return xs[b.rng.IntN(len(xs))] }

func (b *Backend) clientIP() string { return b.pick(clientIPs) }

func (b *Backend) appLine(buf *bytes.Buffer, t time.Time, level, msg string) {
	buf.WriteString(t.In(b.loc).Format(isoLayout))
	buf.WriteByte(' ')
	buf.WriteString(level)
	buf.WriteByte(' ')
	buf.WriteString(msg)
	buf.WriteByte('\n')
}

// accessLine writes nginx "combined" plus $request_time; rt 0 picks a
// normal response time.
func (b *Backend) accessLine(buf *bytes.Buffer, t time.Time, ip string, status int, rt time.Duration) {
	if rt == 0 {
		rt = time.Duration(5+b.rng.IntN(300)) * time.Millisecond
	}
	method := "GET"
	path := b.pick(paths)
	if path == "/api/chat" || path == "/api/upload" || path == "/api/login" {
		method = "POST"
	}
	fmt.Fprintf(buf, "%s - - [%s] \"%s %s HTTP/1.1\" %d %d \"-\" \"%s\" %.3f\n",
		ip, t.In(b.loc).Format(nginxLayout), method, path, status, 200+b.rng.IntN(4000), b.pick(agents), rt.Seconds())
}

// tick writes one batch of ordinary traffic at time t into out.
func (b *Backend) tick(out func(string) *bytes.Buffer, t time.Time) {
	for i, n := 0, 1+b.rng.IntN(4); i < n; i++ {
		status, rt := 200, time.Duration(0)
		if b.rng.Float64()*100 < b.traffic.Error5xxPct {
			status = 500 + b.pick3(0, 2, 3)
		} else if b.rng.IntN(40) == 0 {
			status = 404
		}
		if b.rng.Float64()*100 < b.traffic.SlowPct {
			rt = b.traffic.Slow
		}
		b.accessLine(out("access"), t, b.clientIP(), status, rt)
	}
	switch r := b.rng.IntN(100); {
	case r < 2:
		b.appLine(out("app"), t, "WARNING", b.pick(warnMessages))
	default:
		b.appLine(out("app"), t, "INFO", b.pick(infoMessages))
	}
	if b.rng.IntN(40) == 0 {
		b.appLine(out("error"), t, "WARNING", b.pick(warnMessages))
	}
	if b.rng.IntN(500) == 0 {
		b.appLine(out("error"), t, "ERROR", b.pick(errorMessages))
	}
	if b.rng.IntN(5) == 0 {
		if b.rng.IntN(100) == 0 {
			b.appLine(out("llm"), t, "ERROR", "LLM API Error: "+b.pick(llmErrors))
		} else {
			b.appLine(out("llm"), t, "INFO", fmt.Sprintf("LLM API call success model=tutor-large tokens=%d latency_ms=%d", 50+b.rng.IntN(900), 300+b.rng.IntN(2500)))
		}
	}
	if b.rng.IntN(4) == 0 {
		b.appLine(out("performance"), t, "INFO", fmt.Sprintf("endpoint=%s duration_ms=%d db_ms=%d", b.pick(paths), 5+b.rng.IntN(400), b.rng.IntN(40)))
	}
	if b.rng.IntN(20) == 0 {
		ip := b.clientIP()
		if b.rng.IntN(8) == 0 {
			b.appLine(out("security"), t, "WARNING", fmt.Sprintf("login failed user=%s ip=%s", b.pick(users), ip))
		} else {
			b.appLine(out("security"), t, "INFO", fmt.Sprintf("login ok user=%s ip=%s", b.pick(users), ip))
		}
	}
}

// writeLogs appends a batch of lines every LogInterval while running.
func (b *Backend) writeLogs(ctx context.Context) {
	t := time.NewTicker(b.opts.LogInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b.logMu.Lock()
		out := map[string]*bytes.Buffer{}
		b.tick(func(name string) *bytes.Buffer {
			if out[name] == nil {
				out[name] = &bytes.Buffer{}
			}
			return out[name]
		}, b.opts.Now())
		if err := b.flushLocked(out); err != nil {
			b.opts.Log.Debug("stand-in log write failed", "err", err)
		}
		b.logMu.Unlock()
	}
}

// flushLocked appends each buffer to its log. Files are opened per batch,
// so a rotation (rename) by cleanup or a test is followed at once.
func (b *Backend) flushLocked(out map[string]*bytes.Buffer) error {
	for name, buf := range out {
		f, err := os.OpenFile(b.LogPath(name), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("standin: open log %s: %w", name, err)
		}
		_, err = f.Write(buf.Bytes())
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("standin: write log %s: %w", name, err)
		}
	}
	return nil
}

// layout creates the backend's folders and files: configuration, uploads,
// temp files (some old), log history and rotated, older logs.
func (b *Backend) layout() error {
	for _, d := range []string{"data", "logs", "uploads", "temp", "nginx", "monitoring", "backups"} {
		if err := os.MkdirAll(filepath.Join(b.dir, d), 0o755); err != nil {
			return fmt.Errorf("standin: layout: %w", err)
		}
	}
	files := map[string]string{
		".env": "# ai-tutor backend settings (demo values)\nAPP_ENV=production\nDATABASE_URL=sqlite:///data/ai_tutor.db\n" +
			"REDIS_URL=redis://localhost:6379/0\nLLM_API_KEY=sk-demo-0123456789abcdef0123\nSECRET_KEY=demo-secret-key-change-me\n",
		"nginx/nginx.conf": "upstream ai_tutor {\n    server 127.0.0.1:8000;\n    server 127.0.0.1:8001;\n    server 127.0.0.1:8002;\n}\n" +
			"log_format timed '$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_time';\n" +
			"server {\n    listen 80;\n    access_log logs/access.log timed;\n    location / { proxy_pass http://ai_tutor; }\n}\n",
		"monitoring/prometheus.yml":  "global:\n  scrape_interval: 15s\nscrape_configs:\n  - job_name: ai-tutor\n    static_configs:\n      - targets: ['localhost:8000']\nrule_files: ['alert_rules.yml']\n",
		"monitoring/alert_rules.yml": "groups:\n  - name: ai-tutor\n    rules:\n      - alert: ServiceDown\n        expr: up == 0\n        for: 5m\n        labels: {severity: critical}\n",
		"deploy.sh":                  "#!/bin/sh\n# The real service's deploy script; the stand-in is driven by opsbot standin-ctl instead.\necho \"deploy.sh $1\"\n",
	}
	for name, body := range files {
		// Settings files hold secrets in a real service: owner-only, so the
		// demo's own files set off no security finding.
		mode := os.FileMode(0o644)
		if filepath.Base(name) == ".env" {
			mode = 0o600
		}
		p := filepath.Join(b.dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			return fmt.Errorf("standin: layout: %w", err)
		}
		// A file left by an older run keeps its mode through WriteFile.
		if err := os.Chmod(p, mode); err != nil {
			return fmt.Errorf("standin: layout: %w", err)
		}
	}
	now := b.opts.Now()
	// Uploads: images (already compressed, stored as is by backups) and text.
	for i := 0; i < b.opts.UploadFiles; i++ {
		var name string
		var data []byte
		switch i % 3 {
		case 0:
			name = fmt.Sprintf("u%03d/diagram_%d.png", i/10, i)
			data = append([]byte("\x89PNG\r\n\x1a\n"), b.randBytes(8<<10)...)
		case 1:
			name = fmt.Sprintf("u%03d/photo_%d.jpg", i/10, i)
			data = append([]byte("\xff\xd8\xff\xe0"), b.randBytes(12<<10)...)
		default:
			name = fmt.Sprintf("u%03d/notes_%d.txt", i/10, i)
			data = bytes.Repeat([]byte("homework notes: "+words[i%len(words)]+"\n"), 200)
		}
		p := filepath.Join(b.dir, "uploads", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("standin: layout: %w", err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return fmt.Errorf("standin: layout: %w", err)
		}
	}
	// Temp: two fresh files and two older than a day (cleanup removes those).
	for i, age := range []time.Duration{time.Minute, time.Hour, 30 * time.Hour, 72 * time.Hour} {
		p := filepath.Join(b.dir, "temp", fmt.Sprintf("render_%d.tmp", i))
		if err := os.WriteFile(p, b.randBytes(4<<10), 0o644); err != nil {
			return fmt.Errorf("standin: layout: %w", err)
		}
		_ = os.Chtimes(p, now.Add(-age), now.Add(-age))
	}
	return b.writeHistory(now)
}

func (b *Backend) randBytes(n int) []byte {
	b.logMu.Lock()
	defer b.logMu.Unlock()
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(b.rng.Uint32())
	}
	return p
}

// writeHistory fills each log with HistoryLines batches ending now (when
// the logs are new), and adds rotated siblings: app.log.1 and access.log.1
// from 8 days ago, access.log.2.gz from 40 days ago, dated accordingly.
func (b *Backend) writeHistory(now time.Time) error {
	if _, err := os.Stat(b.LogPath("app")); err == nil {
		return nil // an existing layout keeps its logs
	}
	b.logMu.Lock()
	defer b.logMu.Unlock()
	gen := func(from, to time.Time, n int) map[string]*bytes.Buffer {
		out := map[string]*bytes.Buffer{}
		for _, l := range logNames {
			out[l.name] = &bytes.Buffer{}
		}
		step := to.Sub(from) / time.Duration(max(n, 1))
		for i := 0; i < n; i++ {
			b.tick(func(name string) *bytes.Buffer { return out[name] }, from.Add(time.Duration(i)*step))
		}
		return out
	}
	if err := b.flushLocked(gen(now.Add(-b.opts.History), now, b.opts.HistoryLines)); err != nil {
		return err
	}
	old := gen(now.Add(-9*24*time.Hour), now.Add(-8*24*time.Hour), 50)
	older := gen(now.Add(-41*24*time.Hour), now.Add(-40*24*time.Hour), 50)
	rotated := []struct {
		name string
		data []byte
		age  time.Duration
	}{
		{"app.log.1", old["app"].Bytes(), 8 * 24 * time.Hour},
		{"access.log.1", old["access"].Bytes(), 8 * 24 * time.Hour},
		{"access.log.2.gz", gz(older["access"].Bytes()), 40 * 24 * time.Hour},
	}
	for _, r := range rotated {
		p := filepath.Join(b.dir, "logs", r.name)
		if err := os.WriteFile(p, r.data, 0o644); err != nil {
			return fmt.Errorf("standin: layout: %w", err)
		}
		_ = os.Chtimes(p, now.Add(-r.age), now.Add(-r.age))
	}
	return nil
}

func gz(p []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(p)
	_ = w.Close()
	return buf.Bytes()
}
