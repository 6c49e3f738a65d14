package logs

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"opsbot/chat"
	"opsbot/config"
	"opsbot/ops/logs/loggen"
)

// writeMixedLog writes an app log of about size bytes with secrets, private
// key blocks (some across the scan's block edges) and non-ASCII lines, and
// returns its bytes.
func writeMixedLog(tb testing.TB, path string, size int64) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := loggen.App(&buf, loggen.Options{Size: size, End: end, Span: 24 * time.Hour, Seed: 11}); err != nil {
		tb.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var out bytes.Buffer
	key := "2026-11-25T10:00:03+08:00 WARN the key follows\n-----BEGIN PRIVATE KEY-----\n" +
		"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n" +
		"lLm ApI eRrOr\nagw=\n-----END PRIVATE KEY-----\n"
	extra := []string{
		"2026-11-25T10:00:01+08:00 ERROR LLM API Error: login failed password=hunter2 user=7\n",
		"2026-11-25T10:00:02+08:00 INFO webhook token am-tok-Qw3rTy POST /api/chat/stream used\n",
		"2026-11-25T10:00:02+08:00 ERROR ÉCHEC de la requête: llm api ERROR, straße\n",
		"2026-11-25T10:00:02+08:00 WARN Échec: STRASSE llm API error [REDACTED] here\n",
	}
	for _, line := range bytes.SplitAfter(buf.Bytes(), []byte("\n")) {
		out.Write(line)
		switch n := r.IntN(2000); {
		case n == 0:
			out.WriteString(key)
		case n < 40:
			out.WriteString(extra[n%len(extra)])
		}
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return out.Bytes()
}

// TestSearchAgreesWithNaiveReference compares every search class, redacted,
// against a line-by-line reference: the whole file's key spans and each
// line redacted, then the pattern's regexp on what is shown.
func TestSearchAgreesWithNaiveReference(t *testing.T) {
	dir := t.TempDir()
	// Several file blocks, fewer under the race detector.
	size := int64(3*fileBlockSize + 12345)
	if raceOn {
		size = blockSize + 12345
	}
	data := writeMixedLog(t, filepath.Join(dir, "app.log"), size)
	red := chat.NewRedactor([]string{"am-tok-Qw3rTy"}, nil)
	cfg := config.Default()
	cfg.Targets = []config.Target{{Name: "api", Workdir: dir,
		Logs: map[string]config.LogFile{"app": {Path: "app.log", Format: "app_iso", Timezone: "Asia/Shanghai"}}}}
	l := New(func() *config.Config { return cfg })
	l.Now = func() time.Time { return end }

	// The reference: what the user is shown, line by line.
	var shown []string
	var levels []string
	keys := red.KeyLines(data)
	for off := 0; off < len(data); {
		le := bytes.IndexByte(data[off:], '\n')
		if le < 0 {
			le = len(data) - off
		}
		line := string(data[off : off+le])
		s := red.Redact(line)
		for _, k := range keys {
			if off >= k[0] && off < k[1] {
				s = chat.Mask
			}
		}
		shown = append(shown, s)
		lv := ""
		if f := strings.Fields(line); len(f) > 1 {
			lv = f[1]
		}
		levels = append(levels, lv)
		off += le + 1
	}
	cases := []Query{
		{Pattern: "LLM API Error"},
		{Pattern: "POST /api/chat/stream"},
		{Pattern: "POST /api/v1/chat/completions"},
		{Pattern: "llm api error", IgnoreCase: true},
		{Pattern: "LLM API ERROR", IgnoreCase: true, Level: "ERROR"},
		{Pattern: "échec", IgnoreCase: true},
		{Pattern: "STRASSE", IgnoreCase: true},
		{Pattern: "ERROR|LLM API Error", Regex: true},
		{Pattern: `timeout after [0-9]+ ms`, Regex: true},
		{Pattern: `(?i)llm (api|vendor)`, Regex: true},
		{Pattern: `[A-Z]{3} API`, Regex: true},
		{Pattern: "REDACTED"},
		{Pattern: "hunter2"},
		{Pattern: "MIIEvQ"},
		{Pattern: "error", IgnoreCase: true, Context: 2},
		{Pattern: "WARN", Level: "WARN"},
	}
	for _, q := range cases {
		t.Run(fmt.Sprintf("%s/i=%v/re=%v/%s", q.Pattern, q.IgnoreCase, q.Regex, q.Level), func(t *testing.T) {
			expr := q.Pattern
			if !q.Regex {
				expr = regexp.QuoteMeta(expr)
			}
			if q.IgnoreCase {
				expr = "(?i)" + expr
			}
			re := regexp.MustCompile(expr)
			var want int64
			var first []string
			for i, s := range shown {
				if re.MatchString(s) && (q.Level == "" || (levels[i] == q.Level && s != chat.Mask)) {
					want++
					if len(first) < 5 {
						first = append(first, s)
					}
				}
			}
			if want == 0 && q.Pattern != "hunter2" && q.Pattern != "MIIEvQ" && q.Pattern != "POST /api/v1/chat/completions" {
				t.Fatalf("the reference finds nothing: a weak case")
			}
			q.Redactor = red
			q.Limit = 5
			res, err := l.Search(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			if res.Total != want {
				t.Fatalf("total %d, reference %d", res.Total, want)
			}
			var got []string
			for _, m := range res.Matches {
				got = append(got, m.Line.Text)
			}
			if strings.Join(got, "\n") != strings.Join(first, "\n") {
				t.Fatalf("first matches:\n%s\nreference:\n%s", strings.Join(got, "\n"), strings.Join(first, "\n"))
			}
			q.CountOnly = true
			if res, err = l.Search(context.Background(), q); err != nil || res.Total != want {
				t.Fatalf("--count: %d (%v), reference %d", res.Total, err, want)
			}
		})
	}
}
