package discord

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"opsbot/commands"
	"opsbot/config"
	"opsbot/policy"
)

// anyOK answers every REST call with success, so the adapter under fuzzing
// reaches nothing outside the process.
type anyOK struct{}

func (anyOK) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"id":"1","channel_id":"1"}`)), Request: r}, nil
}

var fuzzKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// fuzzRig is one adapter on a registry of verbs shaped like the real ones,
// fed signed interactions directly, with a clock that moves on for every
// request so no signature is ever a replay.
type fuzzRig struct {
	a    *Adapter
	mu   sync.Mutex
	now  time.Time
	seen []commands.Request
}

func newFuzzRig(f *testing.F) *fuzzRig {
	r := &fuzzRig{now: time.Unix(1_750_000_000, 0)}
	cfg := config.Default()
	cfg.Secrets.DiscordPublicKey = config.Secret(hex.EncodeToString(fuzzKey.Public().(ed25519.PublicKey)))
	cfg.Secrets.DiscordBotToken = "fuzz-token"
	cfg.Secrets.DiscordAppID = "100"
	cfg.RateLimits.Default = config.RateLimit{Count: 1 << 30, Per: time.Second}
	cfgFn := func() *config.Config { return cfg }
	log := slog.New(slog.DiscardHandler)
	reg := commands.NewRegistry(cfgFn, nil, log)
	echo := func(_ context.Context, c *commands.Call) (commands.Response, error) {
		return commands.Text("%s %q", c.Path, c.Args), nil
	}
	reg.MustRegister(
		&commands.Verb{Name: "logs", Subs: []*commands.Verb{
			{Name: "search", Params: []commands.Param{{Name: "pattern", Required: true, Rest: true}}, Access: policy.Read, Run: echo, Flags: []commands.Flag{
				{Name: "file", Suggest: []string{"app", "nginx"}}, {Name: "regex", Bool: true}, {Name: "level", Choices: []string{"INFO", "ERROR"}},
				{Name: "limit", Kind: "int"}, {Name: "context", Short: "C", Kind: "int"}, {Name: "since"},
			}},
			{Name: "tail", Params: []commands.Param{{Name: "name", Required: true}, {Name: "n", Kind: "int"}}, Access: policy.Read, Run: echo},
		}},
		&commands.Verb{Name: "capacity", Access: policy.Read, Run: echo, Params: []commands.Param{
			{Name: "users", Required: true, Kind: "int"}, {Name: "growth", Required: true, Kind: "number"}, {Name: "months", Required: true, Kind: "int"}}},
		&commands.Verb{Name: "incident", Subs: []*commands.Verb{
			{Name: "lead", Params: []commands.Param{{Name: "id", Required: true, Kind: "int"}, {Name: "user", Required: true, Kind: "user"}}, Access: policy.Read, Run: echo},
			{Name: "note", Params: []commands.Param{{Name: "id", Required: true, Kind: "int"}, {Name: "text", Required: true, Rest: true}}, Access: policy.Read, Run: echo},
		}},
		&commands.Verb{Name: "restart", Params: []commands.Param{{Name: "target", Choices: []string{"api", "worker"}}}, Access: policy.Dangerous, Run: echo},
	)
	reg.AddHook(func(_ context.Context, c *commands.Call, _ string, _ commands.Response) { r.record(*c.Req) })
	reg.RegisterButton("fuzz", func(_ context.Context, req commands.Request, value string) (commands.Response, error) {
		req.Text = value
		r.record(req)
		return commands.Text("clicked %s", value), nil
	})
	r.a = New(cfgFn, reg, log, WithClock(r.clock), WithHTTPClient(&http.Client{Transport: anyOK{}}), WithAckDeadline(time.Minute))
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

// post signs body as Discord does and serves it as the listener would
// (the request's context ends when the handler returns); the work it
// started has ended when post returns.
func (r *fuzzRig) post(body []byte) (*httptest.ResponseRecorder, []commands.Request) {
	r.mu.Lock()
	r.now = r.now.Add(11 * time.Minute)
	ts := strconv.FormatInt(r.now.Unix(), 10)
	r.seen = nil
	r.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/discord/interactions", bytes.NewReader(body))
	req.Header.Set("X-Signature-Timestamp", ts)
	req.Header.Set("X-Signature-Ed25519", hex.EncodeToString(ed25519.Sign(fuzzKey, append([]byte(ts), body...))))
	w := httptest.NewRecorder()
	r.a.Handler().ServeHTTP(w, req)
	cancel()
	r.a.work.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	return w, append([]commands.Request(nil), r.seen...)
}

var canonicalInt = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// integerOptions lists the values of the integer options in an interaction
// as they were written in the JSON.
func integerOptions(body []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw struct {
		Data struct {
			Options json.RawMessage `json:"options"`
		} `json:"data"`
	}
	if dec.Decode(&raw) != nil {
		return nil
	}
	var out []string
	var walk func(json.RawMessage)
	walk = func(m json.RawMessage) {
		var opts []struct {
			Type    int             `json:"type"`
			Value   any             `json:"value"`
			Options json.RawMessage `json:"options"`
		}
		d := json.NewDecoder(bytes.NewReader(m))
		d.UseNumber()
		if d.Decode(&opts) != nil {
			return
		}
		for _, o := range opts {
			if n, ok := o.Value.(json.Number); ok && o.Type == int(discordgo.ApplicationCommandOptionInteger) {
				out = append(out, n.String())
			}
			if len(o.Options) > 0 {
				walk(o.Options)
			}
		}
	}
	walk(raw.Data.Options)
	return out
}

// FuzzInteraction: a signed interaction is answered 200 with an
// interaction response of a known type, or 400 exactly when it does not
// decode. A command reaches the registry as words that the audit text
// (their printer) splits back into, from the member or user who sent it,
// with integer options as the numbers sent, never altered; a click reaches
// it with the button's value.
func FuzzInteraction(f *testing.F) {
	cmd := func(opts string) string {
		return `{"type":2,"id":"1","application_id":"100","token":"tok","channel_id":"600","member":{"user":{"id":"800","username":"alice","global_name":"Alice"},"nick":"al","roles":["700"]},"data":{"id":"3","name":"ops","type":1,"options":` + opts + `}}`
	}
	for _, s := range []string{
		`{"type":1}`,
		cmd(`[{"name":"logs","type":2,"options":[{"name":"search","type":1,"options":[{"name":"pattern","type":3,"value":"LLM API Error"},{"name":"limit","type":4,"value":50},{"name":"regex","type":5,"value":true}]}]}]`),
		cmd(`[{"name":"logs","type":2,"options":[{"name":"search","type":1,"options":[{"name":"pattern","type":3,"value":"-v"},{"name":"context","type":4,"value":9223372036854775807}]}]}]`),
		cmd(`[{"name":"logs","type":2,"options":[{"name":"tail","type":1,"options":[{"name":"n","type":4,"value":3}]}]}]`),
		cmd(`[{"name":"capacity","type":1,"options":[{"name":"users","type":4,"value":1000},{"name":"growth","type":10,"value":0.1},{"name":"months","type":4,"value":1.5}]}]`),
		cmd(`[{"name":"incident","type":2,"options":[{"name":"lead","type":1,"options":[{"name":"id","type":4,"value":7},{"name":"user","type":6,"value":"801"}]}]}]`),
		cmd(`[{"name":"incident","type":2,"options":[{"name":"note","type":1,"options":[{"name":"id","type":4,"value":7},{"name":"text","type":3,"value":"数据库\u3000宕机 \"quoted\" \\ back"}]}]}]`),
		cmd(`[{"name":"restart","type":1,"options":[{"name":"target","type":3,"value":"db"}]}]`),
		cmd(`[{"name":"nosuch","type":1}]`),
		cmd(`[]`),
		`{"type":2,"channel_id":"600","data":{"name":"ops","options":[{"name":"logs","type":2,"options":[{"name":"search","type":1,"options":[{"name":"pattern","type":3,"value":"x"}]}]}]}}`,
		`{"type":3,"id":"5","token":"t","channel_id":"600","user":{"id":"801","username":"bob"},"message":{"id":"9","channel_id":"600"},"data":{"custom_id":"fuzz:v1","component_type":2}}`,
		`{"type":3,"id":"5","token":"t","channel_id":"600","user":{"id":"801"},"data":{"custom_id":"confirm:tok","component_type":2}}`,
		`{"type":4,"channel_id":"600","user":{"id":"801"},"data":{"name":"ops"}}`,
		`{"type":99}`,
		`{"type":"2"}`,
		`not json`,
		``,
	} {
		f.Add([]byte(s))
	}
	rig := newFuzzRig(f)
	known := []discordgo.InteractionResponseType{
		discordgo.InteractionResponsePong, discordgo.InteractionResponseChannelMessageWithSource,
		discordgo.InteractionResponseDeferredChannelMessageWithSource, discordgo.InteractionResponseDeferredMessageUpdate,
		discordgo.InteractionResponseUpdateMessage, discordgo.InteractionApplicationCommandAutocompleteResult,
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in discordgo.Interaction
		derr := json.Unmarshal(body, &in)
		w, seen := rig.post(body)
		if derr != nil {
			if msg := strings.TrimSuffix(w.Body.String(), "\n"); w.Code != http.StatusBadRequest || msg == "" || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("%q does not decode (%v), yet the answer is %d %q", body, derr, w.Code, msg)
			}
			return
		}
		if w.Code != http.StatusOK {
			t.Fatalf("%q: status %d %q", body, w.Code, w.Body)
		}
		var resp discordgo.InteractionResponse
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || !slices.Contains(known, resp.Type) {
			t.Fatalf("%q: answer %s (%v)", body, w.Body, err)
		}
		if resp.Data != nil && resp.Data.Flags&discordgo.MessageFlagsEphemeral != 0 {
			if c := resp.Data.Content; strings.ContainsAny(c, "\r\n") && !strings.Contains(c, "usage:") {
				t.Fatalf("%q: refusal %q is more than one line", body, c)
			}
		}
		for _, req := range seen {
			user := in.User
			if in.Member != nil && in.Member.User != nil {
				user = in.Member.User
			}
			if user == nil || req.Platform != Platform || req.User != user.ID || req.Channel != in.ChannelID {
				t.Fatalf("%q: the registry was handed %+v", body, req)
			}
			if in.Type != discordgo.InteractionApplicationCommand {
				continue
			}
			if words, err := commands.Split(req.Text); err != nil || !slices.Equal(words, req.Args) {
				t.Fatalf("%q: words %q, audit text %q reads back as %q (%v)", body, req.Args, req.Text, words, err)
			}
			for _, n := range integerOptions(body) {
				if canonicalInt.MatchString(n) && !slices.Contains(req.Args, n) {
					t.Fatalf("%q: the integer option %s reached the registry as %q", body, n, req.Args)
				}
			}
		}
	})
}
