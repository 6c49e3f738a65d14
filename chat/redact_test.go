package chat

import (
	"encoding/base64"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"opsbot/internal/race"
)

const pem = `-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj
MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu
NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ
agw=
-----END PRIVATE KEY-----`

// The secrets configured for the table: one long, one of two characters.
var configured = []string{"hunter2-configured", "x7"}

// Every form a secret is posted in, and what it must become.
var redactCases = []struct{ in, want string }{
	// key-value secrets, English keys
	{"db password=s3cret&user=x", "db password=[REDACTED]&user=x"},
	{`{"password": "hunter2"}`, `{"password": "[REDACTED]"}`},
	{`{'password': 'hunter2', 'user': 'bob'}`, `{'password': '[REDACTED]', 'user': 'bob'}`},
	{"password = 'x'", "password = '[REDACTED]'"},
	{`PASSWORD: "correct horse battery"`, `PASSWORD: "[REDACTED]"`},
	{"pass=hunter2 next", "pass=[REDACTED] next"},
	{"db_pass=hunter2", "db_pass=[REDACTED]"},
	{"DB_PASSWORD=hunter2", "DB_PASSWORD=[REDACTED]"},
	{"passwd: hunter2", "passwd: [REDACTED]"},
	{"passphrase=opensesame", "passphrase=[REDACTED]"},
	{"pwd=hunter2;uid=sa", "pwd=[REDACTED];uid=sa"},
	{"client_secret=abc123", "client_secret=[REDACTED]"},
	{"secret_key=abc123", "secret_key=[REDACTED]"},
	{"aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key=[REDACTED]"},
	{"token=xyz; api_key=AKxyz123 next", "token=[REDACTED]; api_key=[REDACTED] next"},
	{"apikey=q1w2e3 X-Api-Key: r4t5y6", "apikey=[REDACTED] X-Api-Key: [REDACTED]"},
	{"csrftoken=abc refresh_token => 'def'", "csrftoken=[REDACTED] refresh_token => '[REDACTED]'"},
	{"GET /cb?token=abc&state=1", "GET /cb?token=[REDACTED]&state=1"},
	{`log {"msg": "{\"password\": \"hunter2\"}"}`, `log {"msg": "{\"password\": \"[REDACTED]\"}"}`},
	// Chinese keys, with = : and the full-width ：
	{"密码: hunter2", "密码: [REDACTED]"},
	{"数据库密码：hunter2，请勿外传", "数据库密码：[REDACTED]，请勿外传"},
	{"口令=abc 令牌：“x y”", "口令=[REDACTED] 令牌：“[REDACTED]”"},
	{`{"密钥": "abc def"}`, `{"密钥": "[REDACTED]"}`},
	// Authorization headers, cookies, bearer tokens, JWTs
	{"Authorization: Bearer abc.def.ghi", "Authorization: [REDACTED]"},
	{`"Authorization": "Basic dXNlcjpwYXNz"`, `"Authorization": "[REDACTED]"`},
	{"Cookie: sessionid=abc123; csrftoken=def", "Cookie: [REDACTED]"},
	{"Set-Cookie: sessionid=abc123; Path=/; HttpOnly", "Set-Cookie: [REDACTED]"},
	{"upstream sent Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U ok",
		"upstream sent Bearer [REDACTED] ok"},
	{"jwt=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "jwt=[REDACTED]"},
	{"session eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0. seen", "session [REDACTED] seen"},
	// URL user-info
	{"dsn postgres://ops:pw123@db/opsbot", "dsn postgres://ops:[REDACTED]@db/opsbot"},
	{"cache redis://:hunter2@cache:6379/0", "cache redis://:[REDACTED]@cache:6379/0"},
	// tokens by prefix
	{"token xoxb-1234567890-abcdefghij", "token [REDACTED]"},
	{"xoxp-1234567890-abcdefghij and xapp-1-A0123-456789-abcdef", "[REDACTED] and [REDACTED]"},
	{"key sk-abcdefghijklmnopqrstuvwx used", "key [REDACTED] used"},
	{"key sk-proj-4f9KxQ2mW8vLzT1aB7cD", "key [REDACTED]"},
	{"aws AKIAIOSFODNN7EXAMPLE here", "aws [REDACTED] here"},
	{"gh ghp_abcdefghijklmnopqrstuvwxyz0123456789", "gh [REDACTED]"},
	{"bot MTA5ODc2NTQzMjEwOTg3NjU0MzI.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB ready", "bot [REDACTED] ready"},
	// private keys, the whole block
	{"key:\n" + pem + "\ndone", "key:\n[REDACTED]\ndone"},
	{`{"key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEvQ\n-----END RSA PRIVATE KEY-----\n"}`, `{"key": "[REDACTED]\n"}`},
	{"cut -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA", "cut [REDACTED]"},
	// a tail that starts inside a block
	{"MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\nagw=\n-----END PRIVATE KEY-----\nnext", "[REDACTED]\nnext"},
	{"MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu", "[REDACTED]"},
	// configured values: any length, any case, base64
	{"the value hunter2-configured leaked", "the value [REDACTED] leaked"},
	{"the value HUNTER2-Configured leaked", "the value [REDACTED] leaked"},
	{"b64 aHVudGVyMi1jb25maWd1cmVk here", "b64 [REDACTED] here"},
	{"code x7 and X7!", "code [REDACTED] and [REDACTED]!"},
	// already redacted: unchanged
	{"password=[REDACTED] Cookie: [REDACTED]", "password=[REDACTED] Cookie: [REDACTED]"},
}

// Near misses: not secrets, they stay as they are.
var keepCases = []string{
	"PWD=/srv/app",
	"OLDPWD=/srv PWD=~/app",
	`{"pwd": "/home/ops"}`,
	"password_policy=strong",
	"token_count=5 max_tokens=1024 prompt_tokens: 120",
	"passed=3 failed=0",
	"bypass=1 compass=north",
	"cache hit key=lesson:42 age=3s",
	"user 42 logged in from web, session ok after 12ms",
	"nothing secret here: GET /api/history 200 0.012",
	`10.0.0.7 - - [25/Nov/2026:10:00:00 +0800] "GET /static/app.js HTTP/1.1" 200 512 "-" "curl/8.11.0" 0.003`,
	"task-abcdefghijklmnopqrstuvwxyz finished",
	"the bearer of bad news",
	"mail alice@example.com from https://example.com/path@v2",
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"password: ",
	`"password": ""`,
	"2026-11-25T10:00:00.123+08:00 INFO [auth] request handled path=/api/chat user=7 took=12ms",
	"Traceback (most recent call last):",
}

func TestRedactTable(t *testing.T) {
	r := NewRedactor(configured, nil)
	for _, c := range redactCases {
		got := r.Redact(c.in)
		if got != c.want {
			t.Errorf("%q:\n got %q\nwant %q", c.in, got, c.want)
		}
		if again := r.Redact(got); again != got {
			t.Errorf("%q: redacting twice gives %q", c.in, again)
		}
		if !strings.Contains(c.in, "\n") && got != c.in && !r.Suspect([]byte(c.in)) {
			t.Errorf("%q: redacted, but Suspect says it would not be", c.in)
		}
	}
	for _, s := range keepCases {
		if got := r.Redact(s); got != s {
			t.Errorf("near miss %q changed to %q", s, got)
		}
	}
}

func TestRedactBuiltinWithoutConfiguration(t *testing.T) {
	var r *Redactor // nil: the built-in rules still apply
	if got := r.Redact("password=hunter2"); got != "password=[REDACTED]" {
		t.Fatalf("nil redactor: %q", got)
	}
	if got := r.Redact("x7 stays"); got != "x7 stays" {
		t.Fatalf("nil redactor knows no configured value: %q", got)
	}
}

func TestRedactBase64InsideLongerStrings(t *testing.T) {
	secret := "hunter2-configured"
	r := NewRedactor([]string{secret}, nil)
	// Basic credentials "user:secret", with the secret at each of the three
	// alignments; no standard or URL-safe encoding may survive whole.
	for _, prefix := range []string{"user:", "us:", "u:", "admin-user:"} {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding} {
			e := enc.EncodeToString([]byte(prefix + secret + "@x"))
			got := r.Redact("creds " + e + " end")
			if !strings.Contains(got, Mask) {
				t.Errorf("%q (%q): not redacted: %q", prefix, e, got)
			}
			core := strings.Fields(got)[1]
			core = strings.ReplaceAll(core, Mask, "")
			if len(core) > len(e)-len(secret) {
				t.Errorf("%q: too much of the encoding kept: %q", e, got)
			}
		}
	}
}

func TestRedactExtraPatterns(t *testing.T) {
	r := NewRedactor(nil, []*regexp.Regexp{regexp.MustCompile(`ticket-\d+`), regexp.MustCompile(`(?i)RED\w*`)})
	if got := r.Redact("see ticket-4711"); got != "see [REDACTED]" {
		t.Fatalf("extra pattern: %q", got)
	}
	// A pattern that matches the mask itself leaves the mask alone.
	got := r.Redact("reddish")
	if got != Mask || r.Redact(got) != got {
		t.Fatalf("mask-matching pattern: %q then %q", got, r.Redact(got))
	}
	if !r.Suspect([]byte("see ticket-1")) || !r.Suspect([]byte("Reddish")) || r.Suspect([]byte("GET /api 200")) {
		t.Fatal("Suspect must run extra patterns without a literal prefix, and find the others by their prefix")
	}
}

func TestRedactMessageKeepsImages(t *testing.T) {
	r := NewRedactor([]string{"PNGSECRET"}, nil)
	png := []byte("\x89PNG\r\n\x1a\nPNGSECRET\xff\xfe")
	m := r.Message(Message{Text: "x PNGSECRET", Files: []File{{Name: "c.png", Mime: "image/png", Data: png}, {Name: "out.txt", Data: []byte("password=abc")}}})
	if string(m.Files[0].Data) != string(png) {
		t.Fatal("image bytes were rewritten")
	}
	if strings.Contains(string(m.Files[1].Data), "abc") || strings.Contains(m.Text, "PNGSECRET") {
		t.Fatalf("text not redacted: %+v", m)
	}
}

// TestSuspectIsNeverWrong builds lines from pieces of secrets and ordinary
// log text: whenever Redact changes a line, Suspect must have said so
// (otherwise a search would match the unredacted line).
func TestSuspectIsNeverWrong(t *testing.T) {
	r := NewRedactor(append([]string{"Zq"}, configured...), nil)
	pieces := []string{
		"password", "PASS", "pwd", "PWD", "db_", "secret", "Token", "api_key", "x-api-key", "authorization", "cookie", "Set-Cookie",
		"密码", "口令", "令牌", "密钥", "=", ":", "：", " = ", "=>", `"`, "'", `\"`, "“", "”", "/srv", "hunter2",
		"Bearer ", "eyJhbGciOiJIUzI1NiJ9", ".", "eyJzdWIiOiIxIn0", "sig", "https://", "redis://", ":", "@", "host",
		"xoxb-", "sk-", "AKIA", "IOSFODNN7EXAMPLE", "ghp_", "abcdefghijklmnopqrstuvwxyz", "0123456789",
		"-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", "MTA5ODc2NTQzMjEwOTg3NjU0MzI", "GaBcDe",
		"x7", "X", "7", "zq", "\u3000", "api", "_key", "KEY", "-", "by", "credentials", "passwd", "Passphrase", "\\", "Cookie", "[", "aHVudGVyMi1jb25maWd1cmVk", " ", " ", "INFO", "GET /api/chat", "200", "ſ", "K", "[REDACTED]",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range race.Scale(200_000) {
		var b strings.Builder
		for range 1 + rng.IntN(8) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		line := b.String()
		if got := r.Redact(line); got != line && !r.Suspect([]byte(line)) {
			t.Fatalf("%q is redacted to %q, but Suspect says it would not be", line, got)
		}
	}
}

func FuzzRedact(f *testing.F) {
	for _, c := range redactCases {
		f.Add(c.in)
	}
	for _, s := range keepCases {
		f.Add(s)
	}
	r := NewRedactor(configured, nil)
	f.Fuzz(func(t *testing.T, s string) {
		got := r.Redact(s)
		if again := r.Redact(got); again != got {
			t.Fatalf("%q: redacted %q, then %q", s, got, again)
		}
		if !strings.Contains(s, "\n") && got != s && !r.Suspect([]byte(s)) {
			t.Fatalf("%q is redacted to %q, but Suspect says it would not be", s, got)
		}
		if strings.Contains(strings.ToLower(got), "hunter2-configured") {
			t.Fatalf("%q: a configured value survives: %q", s, got)
		}
	})
}

func BenchmarkSuspectOrdinaryLine(b *testing.B) {
	r := NewRedactor(configured, nil)
	line := []byte("2026-11-25T10:00:00.123+08:00 INFO [api] request handled path=/api/chat user=41235 took=312ms")
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if r.Suspect(line) {
			b.Fatal("suspect")
		}
	}
}

func BenchmarkRedactSecretLine(b *testing.B) {
	r := NewRedactor(configured, nil)
	line := "2026-11-25T10:00:00.123+08:00 ERROR [auth] login failed password=hunter2 user=41235 from https://app.example.com/login"
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		r.Redact(line)
	}
}

func TestKeyLines(t *testing.T) {
	var r *Redactor
	spans := func(b string) string {
		var out []string
		for _, sp := range r.KeyLines([]byte(b)) {
			out = append(out, b[sp[0]:sp[1]])
		}
		return strings.Join(out, "|")
	}
	body := "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nagw="
	cases := map[string]string{
		// the lines after BEGIN through END; BEGIN itself is Redact's
		"x\n-----BEGIN PRIVATE KEY-----\n" + body + "\n-----END PRIVATE KEY-----\ny\n": body + "\n-----END PRIVATE KEY-----",
		// cut at the end of the block: to its end
		"x\n-----BEGIN RSA PRIVATE KEY-----\n" + body + "\n": body + "\n",
		// started before the block: the base64 lines before END
		body + "\n-----END PRIVATE KEY-----\ny\n":          body + "\n-----END PRIVATE KEY-----",
		"VIP x\n" + body + "\n-----END PRIVATE KEY-----\n": body + "\n-----END PRIVATE KEY-----",
		// a block on one line, escaped: Redact masks it in the line
		`{"key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"}` + "\n": "",
		"no key here, a PRIVATE matter\n":                                                "",
	}
	for in, want := range cases {
		if got := spans(in); got != want {
			t.Errorf("%q:\n got %q\nwant %q", in, got, want)
		}
	}
}
