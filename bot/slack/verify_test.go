package slack

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"opsbot/config"
)

// Slack's documented example ("Verifying requests from Slack").
const (
	vectorTS   = 1531420618
	vectorBody = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	vectorSig  = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

func TestSignMatchesSlackExample(t *testing.T) {
	if got := Sign(testSecret, vectorTS, []byte(vectorBody)); got != vectorSig {
		t.Fatalf("Sign = %s, want %s", got, vectorSig)
	}
}

func TestVerifierExample(t *testing.T) {
	now := time.Unix(vectorTS+30, 0)
	v := newVerifier(func() string { return testSecret }, func() time.Time { return now })
	h := http.Header{}
	h.Set(headerTimestamp, strconv.Itoa(vectorTS))
	h.Set(headerSignature, vectorSig)
	if err := v.check(h, []byte(vectorBody)); err != nil {
		t.Fatalf("documented example refused: %v", err)
	}
	if err := v.check(h, []byte(vectorBody)); err != errReplay {
		t.Fatalf("second use: got %v, want replay refusal", err)
	}
}

// Every bad request is a 401 and reaches no command: the audit table, which
// the registry writes for every command, stays as it was.
func TestHandlerRefusesBadSignatures(t *testing.T) {
	e := newEnv(t, nil)
	e.clock.t = time.Unix(vectorTS+10, 0)
	hdr := func(ts int64, sig string) map[string]string {
		return map[string]string{headerTimestamp: strconv.FormatInt(ts, 10), headerSignature: sig}
	}
	count := func() int {
		n, err := e.store.CountAudit(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	res := e.post(CommandsPath, vectorBody, hdr(vectorTS, vectorSig))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("documented example: status %d", res.StatusCode)
	}
	if got := decode(t, res.Body)["text"]; !strings.Contains(got.(string), "no command given") {
		t.Fatalf("documented example answered %q", got)
	}
	before := count()

	stale := time.Unix(vectorTS-6*60, 0).Unix()
	cases := []struct {
		name    string
		path    string
		body    string
		headers map[string]string
	}{
		{"replay of the example", CommandsPath, vectorBody, hdr(vectorTS, vectorSig)},
		{"tampered body", CommandsPath, strings.Replace(vectorBody, "text=", "text=restart", 1), hdr(vectorTS, vectorSig)},
		{"stale timestamp", CommandsPath, "text=ping", hdr(stale, Sign(testSecret, stale, []byte("text=ping")))},
		{"future timestamp", CommandsPath, "text=ping", hdr(vectorTS+6*60, Sign(testSecret, vectorTS+6*60, []byte("text=ping")))},
		{"missing signature", CommandsPath, "text=ping", map[string]string{headerTimestamp: strconv.Itoa(vectorTS)}},
		{"missing timestamp", CommandsPath, "text=ping", map[string]string{headerSignature: Sign(testSecret, vectorTS, []byte("text=ping"))}},
		{"wrong secret", CommandsPath, "text=ping", hdr(vectorTS, Sign("other", vectorTS, []byte("text=ping")))},
		{"not hex", CommandsPath, "text=ping", hdr(vectorTS, "v0=zz")},
		{"interaction unsigned", InteractionsPath, "payload=%7B%7D", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := e.post(c.path, c.body, c.headers)
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", res.StatusCode)
			}
		})
	}
	if after := count(); after != before {
		t.Fatalf("audit rows %d → %d: a refused request reached the registry", before, after)
	}
}

func TestHandlerBodyLimit(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.HTTP.MaxBodyBytes = 1024 })
	body := "text=" + strings.Repeat("a", 2048)
	res := e.signed(CommandsPath, body)
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", res.StatusCode)
	}
	if len(e.fake.Messages()) != 0 {
		t.Fatal("oversized request posted something")
	}
}
