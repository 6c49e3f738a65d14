package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"opsbot/commands"
	"opsbot/config"
	"opsbot/policy"
)

// FuzzCommandText: text the user typed, escaped as Slack sends it, reads
// back as typed (curly double quotes straightened); and whatever Slack
// sends, the text stays valid UTF-8 when it was.
func FuzzCommandText(f *testing.F) {
	for _, s := range []string{
		`logs search "a < b && c > d"`,
		"incident lead 7 <@U123|alice>",
		"subscribe <#C123|ops-alerts> <!here> <https://example.com|example.com>",
		"note 4 “quoted” &amp; &lt;tag&gt;",
		"<>", "<|>", "<@>", "&&lt;;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		if got := commandText(escape(typed)); got != curlyQuotes.Replace(typed) {
			t.Fatalf("typed %q, sent as %q, read as %q", typed, escape(typed), got)
		}
		if utf8.ValidString(typed) && !utf8.ValidString(commandText(typed)) {
			t.Fatalf("%q read as invalid UTF-8 %q", typed, commandText(typed))
		}
	})
}

// anyOK answers every request, Web API or response_url, with success, so
// the adapter under fuzzing reaches nothing outside the process.
type anyOK struct{}

func (anyOK) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"ok":true,"channel":"C1","ts":"1750000000.000100"}`)), Request: r}, nil
}

// fuzzRig is one adapter with a registry of fast verbs, fed signed
// requests directly (no listener), with a clock that moves on for every
// request so no signature is ever a replay.
type fuzzRig struct {
	a   *Adapter
	mu  sync.Mutex
	now time.Time
	// seen are the requests the registry was handed (commands and clicks).
	seen []commands.Request
}

func newFuzzRig(f *testing.F) *fuzzRig {
	r := &fuzzRig{now: time.Unix(1_750_000_000, 0)}
	cfg := config.Default()
	cfg.Secrets.SlackSigningSecret = testSecret
	cfg.Secrets.SlackBotToken = "xoxb-fuzz"
	cfg.Slack.APIURL = "http://slack.invalid/api/"
	cfg.RateLimits.Default = config.RateLimit{Count: 1 << 30, Per: time.Second}
	cfgFn := func() *config.Config { return cfg }
	log := slog.New(slog.DiscardHandler)
	reg := commands.NewRegistry(cfgFn, nil, log)
	reg.MustRegister(
		&commands.Verb{Name: "ping", Access: policy.Read, Run: func(context.Context, *commands.Call) (commands.Response, error) { return commands.Text("pong"), nil }},
		&commands.Verb{Name: "echo", Access: policy.Read, Params: []commands.Param{{Name: "text", Rest: true}}, Flags: []commands.Flag{{Name: "public", Bool: true}},
			Run: func(_ context.Context, c *commands.Call) (commands.Response, error) {
				resp := commands.Text("%s", c.Arg(0))
				resp.Ephemeral = !c.Has("public")
				return resp, nil
			}},
	)
	reg.AddHook(func(_ context.Context, c *commands.Call, _ string, _ commands.Response) { r.record(*c.Req) })
	// A button is its verb to the policy: everyone may click this one.
	reg.Declare(&commands.Verb{Name: "fuzz", Access: policy.Read})
	reg.RegisterButton("fuzz", func(_ context.Context, req commands.Request, value string) (commands.Response, error) {
		req.Text = value // the value, for the check
		r.record(req)
		return commands.Text("clicked %s", value), nil
	})
	r.a = New(cfgFn, reg, log, WithClock(r.clock), WithHTTPClient(&http.Client{Transport: anyOK{}}),
		WithFastBudget(time.Minute), WithPace(0, 0), WithProgressInterval(time.Hour))
	return r
}

func (r *fuzzRig) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

func (r *fuzzRig) record(req commands.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	req.Progress = nil
	r.seen = append(r.seen, req)
}

// post signs body as Slack does and serves it; the background work it
// started has ended when post returns.
func (r *fuzzRig) post(path string, body []byte) (*httptest.ResponseRecorder, []commands.Request) {
	r.mu.Lock()
	r.now = r.now.Add(11 * time.Minute)
	ts := r.now.Unix()
	r.seen = nil
	r.mu.Unlock()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(headerTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(headerSignature, Sign(testSecret, ts, body))
	w := httptest.NewRecorder()
	r.a.Handler().ServeHTTP(w, req)
	r.a.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	return w, append([]commands.Request(nil), r.seen...)
}

// checkRefusal: a refused request is a 400 with a one-line reason.
func checkRefusal(t *testing.T, body []byte, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code != http.StatusBadRequest {
		t.Fatalf("%q: status %d, want 400 for a body that does not decode", body, w.Code)
	}
	if msg := strings.TrimSuffix(w.Body.String(), "\n"); msg == "" || strings.ContainsAny(msg, "\r\n") {
		t.Fatalf("%q: refusal %q is not one line", body, msg)
	}
}

// FuzzSlashCommand: a signed slash command form is answered 200 with a
// Slack message, or 400 exactly when the form does not decode; the
// registry is handed the user, channel and text the form carries, the
// text as the user typed it.
func FuzzSlashCommand(f *testing.F) {
	form := func(text string) string {
		return url.Values{"command": {"/ops"}, "text": {text}, "user_id": {"U1"}, "user_name": {"alice"}, "channel_id": {"C1"},
			"team_id": {"T1"}, "response_url": {"https://hooks.slack.com/commands/T1/1/x"}, "trigger_id": {"1.2.3"}}.Encode()
	}
	for _, s := range []string{
		form("ping"),
		form(`echo "a &lt; b" &amp;&amp; <@U2|bob> <#C9|ops> --public`),
		form(`echo “curly quotes”`),
		form("echo 数据库 宕机"),
		form(`echo "unclosed`),
		form("unknown verb"),
		form(""),
		"text=ping&user_id=U1",
		"text=%zz&user_id=U1",
		"text=a;b",
		"",
	} {
		f.Add([]byte(s))
	}
	rig := newFuzzRig(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		vals, perr := url.ParseQuery(string(body))
		w, seen := rig.post(CommandsPath, body)
		if perr != nil {
			checkRefusal(t, body, w)
			return
		}
		if w.Code != http.StatusOK {
			t.Fatalf("%q: status %d %q", body, w.Code, w.Body)
		}
		var msg map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &msg); err != nil {
			t.Fatalf("%q: answer %q is not JSON: %v", body, w.Body, err)
		}
		if rt := msg["response_type"]; rt != slack.ResponseTypeEphemeral && rt != slack.ResponseTypeInChannel {
			t.Fatalf("%q: response_type %v", body, rt)
		}
		if msg["text"] == nil && msg["blocks"] == nil {
			t.Fatalf("%q: an answer with neither text nor blocks: %s", body, w.Body)
		}
		for _, req := range seen {
			if req.Platform != "slack" || req.User != vals.Get("user_id") || req.Channel != vals.Get("channel_id") ||
				req.UserName != vals.Get("user_name") || req.Text != commandText(vals.Get("text")) {
				t.Fatalf("%q: the registry was handed %+v", body, req)
			}
		}
	})
}

// FuzzInteraction: a signed interaction payload is answered 200, or 400
// exactly when it does not decode; a click on a button reaches the
// registry with the clicker, the channel (of the message when the payload
// names none) and the button's value.
func FuzzInteraction(f *testing.F) {
	for _, s := range []string{
		`{"type":"block_actions","user":{"id":"U1","name":"alice"},"channel":{"id":"C1"},"container":{"message_ts":"1.2","channel_id":"C1"},"response_url":"https://hooks.slack.com/actions/1","actions":[{"type":"button","block_id":"b1","action_id":"fuzz","value":"v1"}]}`,
		`{"type":"block_actions","user":{"id":"U1","username":"al"},"container":{"channel_id":"C7"},"actions":[{"block_id":"b","action_id":"fuzz#2","value":"数据"}]}`,
		`{"type":"block_actions","user":{"id":"U1"},"actions":[{"block_id":"b","action_id":"confirm","value":"tok"}]}`,
		`{"type":"block_actions","user":{"id":"U1"},"actions":[]}`,
		`{"type":"view_submission","user":{"id":"U1"}}`,
		`{"type":"block_actions","actions":[{"block_id":"b","action_id":"fuzz","value":7}]}`,
		`{"type":"block_actions","actions":{}}`,
		`not json`,
		``,
	} {
		f.Add(s)
	}
	rig := newFuzzRig(f)
	f.Fuzz(func(t *testing.T, payload string) {
		body := []byte(url.Values{"payload": {payload}}.Encode())
		var ic slack.InteractionCallback
		derr := json.Unmarshal([]byte(payload), &ic)
		w, seen := rig.post(InteractionsPath, body)
		if derr != nil {
			checkRefusal(t, body, w)
			return
		}
		if w.Code != http.StatusOK {
			t.Fatalf("%q: status %d %q", payload, w.Code, w.Body)
		}
		clicked := ic.Type == slack.InteractionTypeBlockActions && len(ic.ActionCallback.BlockActions) > 0 &&
			actionID(ic.ActionCallback.BlockActions[0].ActionID) == "fuzz"
		if !clicked {
			if len(seen) > 0 {
				t.Fatalf("%q: no click on the fuzz button, yet the registry saw %+v", payload, seen)
			}
			return
		}
		act := ic.ActionCallback.BlockActions[0]
		channel := ic.Channel.ID
		if channel == "" {
			channel = ic.Container.ChannelID
		}
		if len(seen) != 1 || seen[0].Platform != "slack" || seen[0].User != ic.User.ID || seen[0].Channel != channel || seen[0].Text != act.Value {
			t.Fatalf("%q: the click reached the registry as %+v", payload, seen)
		}
	})
}
