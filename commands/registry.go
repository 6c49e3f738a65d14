package commands

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"opsbot/chat"
	"opsbot/config"
	"opsbot/store"
)

// Hook sees every finished call (incident timelines listen here).
type Hook func(ctx context.Context, c *Call, result string, resp Response)

// ButtonHandler answers a click on a button whose action id it registered.
type ButtonHandler func(ctx context.Context, req Request, value string) (Response, error)

// Registry holds the verbs and runs requests through parsing, checks,
// confirmation, the verb, redaction and audit.
type Registry struct {
	Config   func() *config.Config
	Store    *store.Store
	Redactor func() *chat.Redactor
	Log      *slog.Logger
	Now      func() time.Time

	mu       sync.Mutex
	verbs    map[string]*Verb
	order    []string
	buttons  map[string]ButtonHandler
	hooks    []Hook
	limiters *limiterSet

	// redactor is built once per configuration (every response passes it).
	redactor atomic.Pointer[redactorFor]

	calls *prometheus.CounterVec
	dur   *prometheus.HistogramVec
}

// NewRegistry makes a registry with help and audit registered.
func NewRegistry(cfg func() *config.Config, st *store.Store, log *slog.Logger) *Registry {
	if log == nil {
		log = slog.Default()
	}
	r := &Registry{
		Config:   cfg,
		Store:    st,
		Log:      log,
		Now:      time.Now,
		verbs:    map[string]*Verb{},
		buttons:  map[string]ButtonHandler{},
		limiters: &limiterSet{},
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsbot_commands_total", Help: "Commands by verb and result.",
		}, []string{"verb", "result"}),
		dur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "opsbot_command_duration_seconds", Help: "Command run time by verb.",
			Buckets: []float64{.005, .02, .1, .5, 2, 10, 60},
		}, []string{"verb"}),
	}
	r.Redactor = r.cachedRedactor
	must(r.Register(r.helpVerb()))
	must(r.Register(r.auditVerb()))
	return r
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

type redactorFor struct {
	cfg *config.Config
	r   *chat.Redactor
}

// cachedRedactor redacts the configuration's secret values and its extra
// patterns; it is rebuilt only when the configuration changes (a reload).
func (r *Registry) cachedRedactor() *chat.Redactor {
	cfg := r.Config()
	if rf := r.redactor.Load(); rf != nil && rf.cfg == cfg {
		return rf.r
	}
	var extra []*regexp.Regexp
	for _, p := range cfg.Redact.Patterns {
		if re, err := regexp.Compile(p); err == nil { // Validate reported bad ones
			extra = append(extra, re)
		}
	}
	red := chat.NewRedactor(cfg.All(), extra)
	r.redactor.Store(&redactorFor{cfg: cfg, r: red})
	return red
}

// Collectors are the registry's metrics, for the app to register.
func (r *Registry) Collectors() []prometheus.Collector { return []prometheus.Collector{r.calls, r.dur} }

// Register adds a verb; a second verb of the same name is an error.
func (r *Registry) Register(v *Verb) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v.Name == "" {
		return errors.New("register verb: empty name")
	}
	if _, ok := r.verbs[v.Name]; ok {
		return fmt.Errorf("register verb %q: already registered", v.Name)
	}
	if v.Run == nil && len(v.Subs) == 0 {
		return fmt.Errorf("register verb %q: no handler", v.Name)
	}
	seen := map[string]bool{}
	for _, s := range v.Subs {
		if seen[s.Name] {
			return fmt.Errorf("register verb %q: duplicate subcommand %q", v.Name, s.Name)
		}
		seen[s.Name] = true
	}
	r.verbs[v.Name] = v
	r.order = append(r.order, v.Name)
	sort.Strings(r.order)
	return nil
}

// MustRegister registers or panics (wiring-time errors).
func (r *Registry) MustRegister(vs ...*Verb) {
	for _, v := range vs {
		must(r.Register(v))
	}
}

// RegisterButton routes clicks on buttons with action id to h.
func (r *Registry) RegisterButton(id string, h ButtonHandler) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buttons[id] = h
}

// AddHook adds a hook run after every call.
func (r *Registry) AddHook(h Hook) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hooks = append(r.hooks, h)
}

// Verbs returns the registered verbs sorted by name.
func (r *Registry) Verbs() []*Verb {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Verb, 0, len(r.order))
	for _, n := range r.order {
		out = append(out, r.verbs[n])
	}
	return out
}

// Names returns the registered verb names.
func (r *Registry) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.order...)
}

// Lookup returns a verb by name.
func (r *Registry) Lookup(name string) *Verb {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.verbs[name]
}

// IsSlow tells adapters whether the request should be acknowledged first
// and answered later. Unparseable requests are fast (they fail at once).
func (r *Registry) IsSlow(req Request) bool {
	words := req.Args
	if words == nil {
		var err error
		if words, err = Split(req.Text); err != nil || len(words) == 0 {
			return false
		}
	}
	v := r.Lookup(words[0])
	if v == nil {
		return false
	}
	leaf, _, _, _, err := bind(v, v.Name, words[1:])
	if err != nil {
		return false
	}
	// A refusal is fast: answer it inline rather than with a "working…".
	cfg := r.Config()
	if !req.Local && len(cfg.Channels.Allow) > 0 && !contains(cfg.Channels.Allow, req.Address()) {
		return false
	}
	if (leaf.Restricted || leaf.Dangerous) && !r.Allowed(&req, v.Name) {
		return false
	}
	return (leaf.Slow || v.Slow) && !(leaf.Dangerous && !req.Confirmed)
}

// Handle runs one request and always returns a response to show.
func (r *Registry) Handle(ctx context.Context, req Request) Response {
	start := r.Now()
	row := store.AuditRow{At: store.T(start), Platform: req.Platform, UserID: req.User, UserName: req.UserName, Channel: req.Channel, Text: truncate(req.Text, 500)}
	resp, call, result, detail := r.handle(ctx, &req, start)
	if call != nil {
		row.Verb = call.Path
		if call.Verb.Target != nil {
			row.Target = call.Verb.Target(call)
		}
	}
	return r.finish(ctx, row, call, resp, result, detail, start)
}

func (r *Registry) finish(ctx context.Context, row store.AuditRow, call *Call, resp Response, result, detail string, start time.Time) Response {
	d := r.Now().Sub(start)
	row.Result, row.Detail, row.DurationMS = result, truncate(detail, 1000), d.Milliseconds()
	if r.Store != nil {
		// The audit row must not be lost to a cancelled request context.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if _, err := r.Store.AddAudit(actx, row); err != nil {
			r.Log.Error("audit row not written", "err", err, "verb", row.Verb)
		}
		cancel()
	}
	verb := row.Verb
	if verb == "" {
		verb = "(none)"
	} else if i := strings.IndexByte(verb, ' '); i > 0 {
		verb = verb[:i]
	}
	r.calls.WithLabelValues(verb, result).Inc()
	if call != nil {
		r.dur.WithLabelValues(verb).Observe(d.Seconds())
		r.mu.Lock()
		hooks := append([]Hook(nil), r.hooks...)
		r.mu.Unlock()
		for _, h := range hooks {
			h(ctx, call, result, resp)
		}
	}
	resp.Message = r.Redactor().Message(resp.Message)
	return resp
}

func (r *Registry) handle(ctx context.Context, req *Request, now time.Time) (Response, *Call, string, string) {
	if len(req.Text) > MaxCommandBytes {
		return errResp("command too long (%d bytes, at most %d)", len(req.Text), MaxCommandBytes), nil, "invalid", "too long"
	}
	words := req.Args
	if words == nil {
		var err error
		if words, err = Split(req.Text); err != nil {
			return errResp("%v", err), nil, "invalid", err.Error()
		}
	}
	if len(words) == 0 {
		return errResp("no command given; try `/ops help`"), nil, "invalid", "empty"
	}
	v := r.Lookup(words[0])
	if v == nil {
		return errResp("unknown command %q; try `/ops help`", truncate(words[0], 40)), nil, "invalid", "unknown verb"
	}
	leaf, path, args, flags, err := bind(v, v.Name, words[1:])
	call := &Call{Req: req, Verb: leaf, Path: path, Args: args, Flags: flags, Now: now}
	if err != nil {
		return errResp("%v", err), call, "invalid", err.Error()
	}
	cfg := r.Config()
	if !req.Local && len(cfg.Channels.Allow) > 0 && !contains(cfg.Channels.Allow, req.Address()) {
		return errResp("commands are not accepted in this channel"), call, "denied", "channel not allowed"
	}
	if (leaf.Restricted || leaf.Dangerous) && !r.Allowed(req, v.Name) {
		return errResp("you may not run %s: no role of yours grants it", path), call, "denied", "no role"
	}
	if wait, ok := r.allow(req, v.Name, now); !ok {
		return errResp("rate limit reached for %s; try again in %s", v.Name, wait.Round(time.Second)), call, "rate-limited", ""
	}
	if leaf.Check != nil {
		if err := leaf.Check(ctx, call); err != nil {
			var ue *UserError
			if errors.As(err, &ue) {
				return errResp("%s", ue.Msg), call, "invalid", ue.Msg
			}
			return r.internal(err, call), call, "error", err.Error()
		}
	}
	if leaf.Dangerous && !req.Confirmed {
		resp, err := r.askConfirmation(ctx, req, call, words, now)
		if err != nil {
			return r.internal(err, call), call, "error", err.Error()
		}
		return resp, call, "confirm", ""
	}
	return r.run(ctx, call)
}

func (r *Registry) run(ctx context.Context, call *Call) (resp Response, _ *Call, result, detail string) {
	defer func() {
		if p := recover(); p != nil {
			err := fmt.Errorf("panic in %s: %v", call.Path, p)
			resp, result, detail = r.internal(err, call), "error", err.Error()
		}
	}()
	resp, err := call.Verb.Run(ctx, call)
	if err != nil {
		var ue *UserError
		if errors.As(err, &ue) {
			return errResp("%s", ue.Msg), call, "refused", ue.Msg
		}
		return r.internal(err, call), call, "error", err.Error()
	}
	return resp, call, "ok", ""
}

func (r *Registry) internal(err error, call *Call) Response {
	ref := randHex(4)
	path := ""
	if call != nil {
		path = call.Path
	}
	r.Log.Error("command failed", "ref", ref, "verb", path, "err", r.Redactor().Redact(err.Error()))
	return errResp("internal error, ref %s", ref)
}

func errResp(format string, args ...any) Response {
	return Response{Message: chat.Message{Text: fmt.Sprintf(format, args...), Severity: chat.SevWarning}, Ephemeral: true}
}

// Allowed reports whether req's user has a role granting verb. The shell's
// local user may run everything; with no roles configured nobody else may
// run restricted verbs.
func (r *Registry) Allowed(req *Request, verb string) bool {
	if req.Local {
		return true
	}
	principals := []string{req.Principal()}
	for _, role := range req.Roles {
		principals = append(principals, req.Platform+"-role:"+role)
	}
	for _, role := range r.Config().Roles {
		if !(contains(role.Verbs, "*") || contains(role.Verbs, verb)) {
			continue
		}
		for _, p := range principals {
			if contains(role.Users, p) {
				return true
			}
		}
	}
	return false
}

func (r *Registry) askConfirmation(ctx context.Context, req *Request, call *Call, words []string, now time.Time) (Response, error) {
	if r.Store == nil {
		return Response{}, errors.New("confirmation needs a store")
	}
	cfg := r.Config()
	token := randHex(12)
	args, _ := json.Marshal(words)
	if _, err := r.Store.AddConfirmation(ctx, store.Confirmation{
		Token: token, Verb: call.Path, Args: string(args), Requester: req.Principal(), Platform: req.Platform,
		Channel: req.Channel, CreatedAt: store.T(now), ExpiresAt: store.T(now.Add(cfg.Confirm.TTL)),
	}); err != nil {
		return Response{}, err
	}
	what := call.Path
	if call.Verb.Describe != nil {
		what = call.Verb.Describe(call)
	}
	two := ""
	if contains(cfg.Confirm.TwoPerson, strings.Fields(call.Path)[0]) {
		two = " Another person must confirm."
	}
	return Response{Message: chat.Message{
		Title:    "Confirm: " + what,
		Severity: chat.SevWarning,
		Text:     fmt.Sprintf("%s asked to %s. Confirm within %s.%s", call.Actor(), what, cfg.Confirm.TTL, two),
		Buttons: []chat.Button{
			{ID: "confirm", Label: "Confirm " + strings.Fields(call.Path)[0], Value: token, Style: chat.StyleDanger, Confirm: "Really " + what + "?"},
			{ID: "cancel", Label: "Cancel", Value: token},
		},
	}}, nil
}

// Button handles a click: confirm and cancel of dangerous verbs, and any
// action registered with RegisterButton. The response replaces the message
// the button was on.
func (r *Registry) Button(ctx context.Context, req Request, actionID, value string) Response {
	start := r.Now()
	row := store.AuditRow{At: store.T(start), Platform: req.Platform, UserID: req.User, UserName: req.UserName, Channel: req.Channel, Text: truncate("button "+actionID, 500)}
	switch actionID {
	case "confirm", "cancel":
		resp, call, result, detail := r.confirm(ctx, &req, value, actionID == "cancel", start)
		if call != nil {
			row.Verb = call.Path
			if call.Verb.Target != nil {
				row.Target = call.Verb.Target(call)
			}
		}
		return r.finish(ctx, row, call, resp, result, detail, start)
	}
	r.mu.Lock()
	h := r.buttons[actionID]
	r.mu.Unlock()
	if h == nil {
		return r.finish(ctx, row, nil, errResp("unknown action %q", truncate(actionID, 40)), "invalid", "unknown action", start)
	}
	row.Verb = actionID
	resp, err := h(ctx, req, value)
	if err != nil {
		var ue *UserError
		if errors.As(err, &ue) {
			return r.finish(ctx, row, nil, errResp("%s", ue.Msg), "refused", ue.Msg, start)
		}
		return r.finish(ctx, row, nil, r.internal(err, nil), "error", err.Error(), start)
	}
	return r.finish(ctx, row, nil, resp, "ok", "", start)
}

func (r *Registry) confirm(ctx context.Context, req *Request, token string, cancel bool, now time.Time) (Response, *Call, string, string) {
	if r.Store == nil {
		return errResp("confirmations need a store"), nil, "error", "no store"
	}
	c, err := r.Store.Confirmation(ctx, token)
	if errors.Is(err, store.ErrNotFound) {
		return errResp("unknown or expired confirmation"), nil, "invalid", "unknown token"
	} else if err != nil {
		return r.internal(err, nil), nil, "error", err.Error()
	}
	var words []string
	if err := json.Unmarshal([]byte(c.Args), &words); err != nil || len(words) == 0 {
		return r.internal(fmt.Errorf("confirmation %d: bad args", c.ID), nil), nil, "error", "bad args"
	}
	v := r.Lookup(words[0])
	if v == nil {
		return errResp("%s is no longer available", words[0]), nil, "invalid", "verb gone"
	}
	leaf, path, args, flags, err := bind(v, v.Name, words[1:])
	if err != nil {
		return errResp("%v", err), nil, "invalid", err.Error()
	}
	call := &Call{Req: req, Verb: leaf, Path: path, Args: args, Flags: flags, Now: now}
	what := path
	if leaf.Describe != nil {
		what = leaf.Describe(call)
	}
	if c.UsedBy != nil {
		return errResp("%s was already handled by %s", what, *c.UsedBy), call, "refused", "already used"
	}
	if now.After(c.ExpiresAt.Time) {
		return errResp("the confirmation of %s expired at %s; run the command again", what, c.ExpiresAt.UTC().Format("15:04:05 MST")), call, "refused", "expired"
	}
	if cancel {
		if req.Principal() != c.Requester && !r.Allowed(req, v.Name) {
			return errResp("only the requester or someone allowed to %s may cancel", v.Name), call, "denied", "cancel not allowed"
		}
		if err := r.Store.UseConfirmation(ctx, token, req.Principal(), now); err != nil {
			return errResp("%s was already handled", what), call, "refused", "already used"
		}
		_ = r.Store.SetConfirmationOutcome(ctx, token, "cancelled")
		return Text("%s: cancelled by %s", what, call.Actor()), call, "cancelled", ""
	}
	if !r.Allowed(req, v.Name) {
		return errResp("you may not confirm %s: no role of yours grants it", what), call, "denied", "no role"
	}
	if contains(r.Config().Confirm.TwoPerson, v.Name) && req.Principal() == c.Requester {
		return errResp("%s needs a second person: someone other than the requester must confirm", what), call, "denied", "two-person rule"
	}
	if err := r.Store.UseConfirmation(ctx, token, req.Principal(), now); err != nil {
		if errors.Is(err, store.ErrUsed) {
			return errResp("%s was already confirmed", what), call, "refused", "already used"
		}
		return r.internal(err, call), call, "error", err.Error()
	}
	req.Confirmed = true
	resp, _, result, detail := r.run(ctx, call)
	_ = r.Store.SetConfirmationOutcome(context.WithoutCancel(ctx), token, result)
	who := "confirmed by " + call.Actor()
	if c.Requester != req.Principal() {
		who += ", asked by " + c.Requester
	}
	// A verb that names its actor ("by …") says again what is said here.
	if resp.Context != "" && resp.Context != "by "+call.Actor() && resp.Context != "by "+req.Principal() {
		who += " · " + resp.Context
	}
	resp.Context = who
	return resp, call, result, detail
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
