package logs

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"opsbot/chat"
	"opsbot/config"
	"opsbot/ops/logs/loggen"
)

const secretLog = `2026-11-25T10:00:00+08:00 INFO request 1 ok
2026-11-25T10:00:01+08:00 ERROR login failed password=hunter2 user=7
2026-11-25T10:00:02+08:00 INFO webhook token am-tok-Qw3rTy used
2026-11-25T10:00:03+08:00 WARN the key follows
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj
agw=
-----END PRIVATE KEY-----
2026-11-25T10:00:04+08:00 INFO request 2 ok
`

// secrets are what secretLog holds that no search may reveal or probe.
var secrets = []string{"hunter2", "am-tok", "Qw3rTy", "MIIEvQ", "agw=", "END PRIVATE"}

func secretLogs(t *testing.T) (*Logs, Redactor) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app.log"), []byte(secretLog), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Targets = []config.Target{{Name: "api", Workdir: dir,
		Logs: map[string]config.LogFile{"app": {Path: "app.log", Format: "app_iso", Timezone: "Asia/Shanghai"}}}}
	l := New(func() *config.Config { return cfg })
	l.Now = func() time.Time { return end }
	return l, chat.NewRedactor([]string{"am-tok-Qw3rTy"}, nil)
}

func TestSearchCannotProbeSecrets(t *testing.T) {
	l, red := secretLogs(t)
	ctx := context.Background()
	probes := []Query{
		{Pattern: "password=h", Regex: true},
		{Pattern: "password=h", Regex: true, CountOnly: true},
		{Pattern: "password=h"},
		{Pattern: "password=hunter2"},
		{Pattern: "HUNTER", IgnoreCase: true},
		{Pattern: `password=[a-h]`, Regex: true},
		{Pattern: `[a-z]{6}[0-9]`, Regex: true}, // no literal: every line is looked at
		{Pattern: "am-tok"},
		{Pattern: "Qw3rTy", CountOnly: true},
		{Pattern: "MII"},
		{Pattern: "agw="},
		{Pattern: "END PRIVATE"},
		{Pattern: `^[A-Za-z0-9+/=]+$`, Regex: true}, // a key's body lines
	}
	for _, q := range probes {
		// Without a redactor each probe finds its line: the probes are real.
		res, err := l.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if res.Total == 0 {
			t.Fatalf("%+v finds nothing even unredacted: a weak probe", q)
		}
		q.Redactor = red
		res, err = l.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != 0 || len(res.Matches) != 0 {
			t.Errorf("%q (regex %v, count %v) finds %d line(s) through redaction: %+v", q.Pattern, q.Regex, q.CountOnly, res.Total, res.Matches)
		}
	}
}

func TestSearchMatchesWhatIsShown(t *testing.T) {
	l, red := secretLogs(t)
	ctx := context.Background()
	search := func(q Query) *Result {
		t.Helper()
		q.Redactor = red
		res, err := l.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range res.Matches {
			for _, ln := range append(append([]Line{m.Line}, m.Before...), m.After...) {
				for _, s := range secrets {
					if strings.Contains(ln.Text, s) {
						t.Fatalf("%q: line %q shows %q", q.Pattern, ln.Text, s)
					}
				}
			}
		}
		return res
	}
	// The mask is found, on every line that has one, key lines included.
	res := search(Query{Pattern: "REDACTED"})
	if res.Total != 6 {
		t.Fatalf("REDACTED: %d lines, want 6: %+v", res.Total, res.Matches)
	}
	if res = search(Query{Pattern: "REDACTED", CountOnly: true}); res.Total != 6 {
		t.Fatalf("REDACTED --count: %d, want 6", res.Total)
	}
	if res = search(Query{Pattern: `=\[REDACTED\] user`, Regex: true}); res.Total != 1 {
		t.Fatalf("the mask in its place: %d", res.Total)
	}
	// The key is found by its name, shown redacted.
	res = search(Query{Pattern: "password="})
	if res.Total != 1 || res.Matches[0].Line.Text != "2026-11-25T10:00:01+08:00 ERROR login failed password=[REDACTED] user=7" {
		t.Fatalf("password=: %+v", res.Matches)
	}
	// Context around the block shows its lines as the mask.
	res = search(Query{Pattern: "request 2", Context: 3})
	var before []string
	for _, ln := range res.Matches[0].Before {
		before = append(before, ln.Text)
	}
	if got := strings.Join(before, "|"); got != "[REDACTED]|[REDACTED]|[REDACTED]" {
		t.Fatalf("context before request 2: %q", got)
	}
	// Every line, redacted where needed: what `logs tail` would show.
	res = search(Query{Pattern: "", Limit: 100})
	var all []string
	for _, m := range res.Matches {
		all = append(all, m.Line.Text)
	}
	want := strings.Join([]string{
		"2026-11-25T10:00:00+08:00 INFO request 1 ok",
		"2026-11-25T10:00:01+08:00 ERROR login failed password=[REDACTED] user=7",
		"2026-11-25T10:00:02+08:00 INFO webhook token [REDACTED] used",
		"2026-11-25T10:00:03+08:00 WARN the key follows",
		"[REDACTED]", "[REDACTED]", "[REDACTED]", "[REDACTED]",
		"2026-11-25T10:00:04+08:00 INFO request 2 ok",
	}, "\n")
	if got := strings.Join(all, "\n"); got != want {
		t.Fatalf("every line:\n%s\nwant:\n%s", got, want)
	}
}

// counting counts the lines the search asks the redactor about.
type counting struct {
	*chat.Redactor
	suspect atomic.Int64
}

func (c *counting) Suspect(line []byte) bool {
	c.suspect.Add(1)
	return c.Redactor.Suspect(line)
}

func TestRedactionLooksOnlyAtCandidates(t *testing.T) {
	fx := newFixture(t, 4)
	ctx := context.Background()
	lines := int64(0)
	for _, name := range []string{"app.log.1", "app.log"} {
		data, err := os.ReadFile(filepath.Join(fx.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		lines += int64(bytes.Count(data, []byte("\n")))
	}
	gz := grepCount(t, []string{"-F", ""}, filepath.Join(fx.dir, "app.log.2.gz"))
	lines += gz
	// A literal the mask cannot make: only the lines holding it are looked at.
	red := &counting{Redactor: chat.NewRedactor(nil, nil)}
	res, err := fx.logs.Search(ctx, Query{Logs: []string{"app"}, Pattern: "LLM API Error", CountOnly: true, Redactor: red})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total == 0 || red.suspect.Load() != res.Total {
		t.Fatalf("%d matches, %d lines checked: the fast path is lost", res.Total, red.suspect.Load())
	}
	// A pattern the mask could make: every line is looked at.
	red = &counting{Redactor: chat.NewRedactor(nil, nil)}
	if _, err = fx.logs.Search(ctx, Query{Logs: []string{"app"}, Pattern: "ACT", CountOnly: true, Redactor: red}); err != nil {
		t.Fatal(err)
	}
	if red.suspect.Load() != lines {
		t.Fatalf("ACT: %d lines checked of %d", red.suspect.Load(), lines)
	}
}

func TestOverlapMask(t *testing.T) {
	for s, want := range map[string]bool{
		"REDACTED": true, "[RED": true, "ED]": true, "D] user": true, "=[": true, "x[REDACTED]y": true, "act": false,
		"password=h": false, "ERROR": false, "LLM API Error": false, "]": true, "hunter2": false,
	} {
		if got := overlapMask([]lit{{s: s}}); got != want {
			t.Errorf("%q: overlap %v, want %v", s, got, want)
		}
	}
	if !overlapMask([]lit{{s: "act", fold: true}}) {
		t.Error("act, ignoring case, is in the mask")
	}
}

// writeSecretLog writes an app log of about size bytes in which one line
// in a hundred carries a secret.
func writeSecretLog(tb testing.TB, path string, size int64) {
	tb.Helper()
	var buf bytes.Buffer
	if err := loggen.App(&buf, loggen.Options{Size: size, End: end, Span: 24 * time.Hour, Seed: 9}); err != nil {
		tb.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	forms := []string{` password=hunter2-%d`, ` {"password": "pw-%d"}`, ` Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIx%dIn0.c2ln`, ` redis://:pw%d@cache:6379`, ` token am-tok-Qw3rTy-%d`}
	for i, line := range bytes.SplitAfter(buf.Bytes(), []byte("\n")) {
		if i%100 == 99 && len(line) > 1 {
			line = append(bytes.TrimSuffix(line, []byte("\n")), fmt.Sprintf(forms[i/100%len(forms)], i)+"\n"...)
		}
		if _, err := w.Write(line); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkSearchRedacted compares search throughput with redacted
// matching off and on over a log with 1% secret lines.
func BenchmarkSearchRedacted(b *testing.B) {
	dir := b.TempDir()
	const size = 64 << 20
	writeSecretLog(b, filepath.Join(dir, "app.log"), size)
	cfg := config.Default()
	cfg.Targets = []config.Target{{Name: "api", Workdir: dir,
		Logs: map[string]config.LogFile{"app": {Path: "app.log", Format: "app_iso", Timezone: "Asia/Shanghai"}}}}
	l := New(func() *config.Config { return cfg })
	red := chat.NewRedactor([]string{"am-tok-Qw3rTy"}, nil)
	for _, c := range []struct {
		name string
		q    Query
	}{
		{"literal-rare", Query{Pattern: "LLM API Error"}},
		{"literal-frequent", Query{Pattern: "INFO"}},
		{"literal-secret-key", Query{Pattern: "password"}},
		{"regex", Query{Pattern: `timeout after [0-9]+ ms`, Regex: true}},
		{"regex-no-literal", Query{Pattern: `[0-9]{4}ms`, Regex: true}},
		{"mask", Query{Pattern: "REDACTED"}},
	} {
		for _, on := range []bool{false, true} {
			name := c.name + "/redaction-off"
			q := c.q
			q.CountOnly = true
			if on {
				name = c.name + "/redaction-on"
				q.Redactor = red
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(size)
				start := cpuTime()
				for b.Loop() {
					if _, err := l.Search(context.Background(), q); err != nil {
						b.Fatal(err)
					}
				}
				if cpu := cpuTime() - start; cpu > 0 {
					b.ReportMetric(float64(size)*float64(b.N)/1e6/cpu.Seconds(), "MB/cpu-s")
				}
			})
		}
	}
}
