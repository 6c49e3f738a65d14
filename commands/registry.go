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
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"opsbot/chat"
	"opsbot/config"
	"opsbot/human"
	"opsbot/policy"
	"opsbot/store"
	"opsbot/textclip"
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
	declared []*Verb           // known to the policy, not runnable in this process
	cat      *policy.Catalogue // of verbs and declared; nil after a change
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
	must(r.Register(r.whoamiVerb()))
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
	r.cat = nil
	return nil
}

// Declare makes verbs known to the policy without registering them, so a
// configuration may name a verb this process does not offer (demo outside
// demo mode) and a typo is still told from it.
func (r *Registry) Declare(vs ...*Verb) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.declared = append(r.declared, vs...)
	r.cat = nil
}

// Declared returns the verbs known to the policy but not runnable here.
func (r *Registry) Declared() []*Verb {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Verb(nil), r.declared...)
}

// Describe is the help text of a verb (its usage, placeholders with their
// closed sets, subcommands and examples), as `/ops help <verb>` shows it.
func (r *Registry) Describe(v *Verb) string {
	return describe(r.Policy(), v, v.Name, r.targetNames())
}

// MustRegister registers or panics (wiring-time errors).
func (r *Registry) MustRegister(vs ...*Verb) {
	for _, v := range vs {
		must(r.Register(v))
	}
}

type grantKey struct{}

// GrantOf returns the policy's decision that let a button handler run (its
// roles and their silence limit); ok is false outside a click.
func GrantOf(ctx context.Context) (d policy.Decision, ok bool) {
	d, ok = ctx.Value(grantKey{}).(policy.Decision)
	return d, ok
}

// RegisterButton routes clicks on buttons with action id to h. The id is
// also the verb the click stands for ("ack"): the policy decides a click
// as it decides that verb, except that a button the bot posted in a
// channel is not refused by the channel's rules. An id that names no verb
// is refused to everyone.
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

// Lookup returns a verb by name or alias, in any case ("Status").
func (r *Registry) Lookup(name string) *Verb {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v := r.verbs[name]; v != nil {
		return v
	}
	for _, n := range r.order {
		if v := r.verbs[n]; v.named(name) {
			return v
		}
	}
	return nil
}

// UnknownVerb is the one wording of a command that does not exist, with a
// suggestion or the list of commands.
func (r *Registry) UnknownVerb(name string) error {
	r.mu.Lock()
	for _, d := range r.declared {
		if d.named(name) {
			r.mu.Unlock()
			return Errorf("%s is not offered by this bot (not in this mode or setup); try `/ops help`", d.Name)
		}
	}
	r.mu.Unlock()
	return Errorf("unknown command %q; %s", clipWord(name), Hint(name, "commands", r.Names()))
}

// Zone is the one zone replies show times in (display.timezone).
func (r *Registry) Zone() *time.Location {
	if r.Config == nil {
		return time.UTC
	}
	return r.Config().Zone()
}

// targetNames are the configured targets' names (none without a config).
func (r *Registry) targetNames() []string {
	if r.Config == nil {
		return nil
	}
	if cfg := r.Config(); cfg != nil {
		return cfg.TargetNames()
	}
	return nil
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
	leaf, path, _, _, err := bind(v, v.Name, words[1:], r.targetNames())
	if err != nil {
		return false
	}
	// A refusal is fast: answer it inline rather than with a "working…";
	// so is a question for a confirmation.
	d := r.Decide(&req, path)
	if !d.Allowed {
		return false
	}
	return (leaf.Slow || v.Slow) && !(d.Confirm && !confirmed(&req))
}

// confirmed reports whether req skips the confirmation: only the shell's
// local user can say so up front (--yes, or a typed "yes").
func confirmed(req *Request) bool { return req.Confirmed && req.Local }

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
		err := r.UnknownVerb(words[0])
		return errResp("%v", err), nil, "invalid", "unknown verb"
	}
	leaf, path, args, flags, err := bind(v, v.Name, words[1:], r.targetNames())
	call := &Call{Req: req, Verb: leaf, Path: path, Args: args, Flags: flags, Now: now, reg: r}
	if err != nil {
		return errResp("%v", err), call, "invalid", err.Error()
	}
	pf := r.compiled()
	d := pf.pol.Decide(subject(req, true), path)
	if !d.Allowed {
		return errResp("%s", refusal("run", path, d)), call, "denied", denied(d)
	}
	call.Grant = d
	if name, wait, ok := r.allow(req, pf.limits, v.Name, path, now); !ok {
		return errResp("rate limit reached for %s; try again in %s", name, wait.Round(time.Second)), call, "denied", "rate limit"
	}
	if leaf.Check != nil {
		if err := leaf.Check(ctx, call); err != nil {
			var ue *UserError
			if errors.As(err, &ue) {
				return errResp("%s", ue.Msg), call, "invalid", ue.Msg
			}
			return r.internal(err, call), call, "failed", err.Error()
		}
	}
	if d.Confirm && !confirmed(req) {
		resp, err := r.askConfirmation(ctx, req, call, words, now)
		if err != nil {
			return r.internal(err, call), call, "failed", err.Error()
		}
		return resp, call, "confirm", ""
	}
	return r.run(ctx, call)
}

func (r *Registry) run(ctx context.Context, call *Call) (resp Response, _ *Call, result, detail string) {
	defer func() {
		if p := recover(); p != nil {
			err := fmt.Errorf("panic in %s: %v", call.Path, p)
			resp, result, detail = r.internal(err, call), "failed", err.Error()
		}
	}()
	call.Redactor = r.Redactor()
	resp, err := call.Verb.Run(ctx, call)
	if call.Verb.Private && !call.Has("public") {
		resp.Ephemeral = true
	}
	if err != nil {
		var ue *UserError
		if errors.As(err, &ue) {
			return errResp("%s", ue.Msg), call, "invalid", ue.Msg
		}
		return r.internal(err, call), call, "failed", err.Error()
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

// refusal words a denial: "you may not run silence: silence needs role
// operator or admin; you have none — ask an admin …".
func refusal(what, path string, d policy.Decision) string {
	if d.Refusal == policy.NotAccepted {
		return d.Reason
	}
	return "you may not " + what + " " + path + ": " + d.Reason
}

// denied is the audit row's detail of a refusal: short and stable.
func denied(d policy.Decision) string {
	switch d.Refusal {
	case policy.NotAccepted:
		return "channel not allowed"
	case policy.NotInChannel:
		return "verb not allowed in channel"
	case policy.NoEntry:
		return "no policy entry"
	}
	return "no role"
}

// Decide asks the policy whether req may run the verb path, in req's channel.
func (r *Registry) Decide(req *Request, path string) policy.Decision {
	return r.Policy().Decide(subject(req, true), path)
}

// subject is req as the policy sees it; without channel, the channel's
// rules do not apply (a click on a button the bot posted there).
func subject(req *Request, channel bool) policy.Subject {
	s := policy.Subject{Platform: req.Platform, User: req.User, Groups: req.Roles, Local: req.Local}
	if channel {
		s.Channel = req.Address()
	}
	return s
}

// allow takes one command of req's user from the rate limits that cover
// path (named as the policy names verbs) and from the default limit.
func (r *Registry) allow(req *Request, limits []rateLimit, top, path string, now time.Time) (string, time.Duration, bool) {
	cfg := r.Config()
	// Buckets live in an expiring set: a full one is dropped.
	check := func(key string, rl config.RateLimit) (time.Duration, bool) {
		return r.limiters.allow(key, rl, now)
	}
	for _, lim := range limits {
		if !lim.paths[path] {
			continue
		}
		rl := lim.limit
		if d, ok := check(fmt.Sprintf("%s|%s|%d/%s", req.Principal(), lim.name, rl.Count, rl.Per), rl); !ok {
			return lim.name, d, false
		}
	}
	rl := cfg.RateLimits.Default
	d, ok := check(fmt.Sprintf("%s|*|%d/%s", req.Principal(), rl.Count, rl.Per), rl)
	return top, d, ok
}

func (r *Registry) askConfirmation(ctx context.Context, req *Request, call *Call, words []string, now time.Time) (Response, error) {
	what := call.Path
	if call.Verb.Describe != nil {
		what = call.Verb.Describe(call)
	}
	token, ttl, err := r.offer(ctx, call, words, now)
	if err != nil {
		return Response{}, err
	}
	two := ""
	if call.Grant.TwoPerson {
		two = " Another person must confirm."
	}
	return Response{Message: chat.Message{
		Title:    "Confirm: " + what,
		Severity: chat.SevWarning,
		Text:     fmt.Sprintf("%s asked to %s. Confirm within %s.%s", call.Actor(), what, human.Duration(ttl), two),
		Buttons: []chat.Button{
			{ID: "confirm", Label: ActionLabel(what), Value: token, Style: chat.StyleDanger, Confirm: "Really " + what + "?"},
			{ID: "cancel", Label: "Cancel", Value: token},
		},
	}}, nil
}

// ActionLabel names a confirm button after the action it runs ("restart
// api-1" → "Restart api-1"), short enough for every platform's buttons.
func ActionLabel(what string) string {
	what = textclip.Bytes(strings.TrimSpace(what), 60, textclip.Ellipsis)
	if what == "" {
		return "Confirm"
	}
	r, n := utf8.DecodeRuneInString(what)
	return string(unicode.ToUpper(r)) + what[n:]
}

// offer stores a confirmation of words (a command line) asked by call's
// user, bound to call's platform and channel: a click anywhere else does
// nothing. It returns the token for the buttons and how long it is valid.
func (r *Registry) offer(ctx context.Context, call *Call, words []string, now time.Time) (string, time.Duration, error) {
	if r.Store == nil {
		return "", 0, errors.New("confirmation needs a store")
	}
	v := r.Lookup(words[0])
	if v == nil {
		return "", 0, fmt.Errorf("confirmation of unknown verb %q", words[0])
	}
	_, path, _, _, err := bind(v, v.Name, words[1:], r.targetNames())
	if err != nil {
		return "", 0, fmt.Errorf("confirmation of %q: %w", strings.Join(words, " "), err)
	}
	ttl := r.Config().Confirm.TTL
	token := randHex(12)
	args, _ := json.Marshal(words)
	req := call.Req
	if _, err := r.Store.AddConfirmation(ctx, store.Confirmation{
		Token: token, Verb: path, Args: string(args), Requester: req.Principal(), Platform: req.Platform,
		Channel: req.Channel, CreatedAt: store.T(now), ExpiresAt: store.T(now.Add(ttl)),
	}); err != nil {
		return "", 0, err
	}
	return token, ttl, nil
}

// OfferConfirmation stores a confirmation of another command line (words,
// e.g. the rollback an unhealthy update offers) for buttons on the reply:
// the click goes through the same checks as any confirmation (bound to
// this channel, decided by the policy, two-person rule, expiry, audit).
func (c *Call) OfferConfirmation(ctx context.Context, words []string) (token string, ttl time.Duration, err error) {
	if c.reg == nil {
		return "", 0, errors.New("offer confirmation: call has no registry")
	}
	now := c.Now
	if now.IsZero() {
		now = c.reg.Now()
	}
	return c.reg.offer(ctx, c, words, now)
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
	d := r.Policy().Decide(subject(&req, false), actionID)
	if !d.Allowed {
		return r.finish(ctx, row, nil, errResp("%s", refusal("run", actionID, d)), "denied", denied(d), start)
	}
	resp, err := h(context.WithValue(ctx, grantKey{}, d), req, value)
	if err != nil {
		var ue *UserError
		if errors.As(err, &ue) {
			return r.finish(ctx, row, nil, errResp("%s", ue.Msg), "invalid", ue.Msg, start)
		}
		return r.finish(ctx, row, nil, r.internal(err, nil), "failed", err.Error(), start)
	}
	return r.finish(ctx, row, nil, resp, "ok", "", start)
}

func (r *Registry) confirm(ctx context.Context, req *Request, token string, cancel bool, now time.Time) (Response, *Call, string, string) {
	if r.Store == nil {
		return errResp("confirmations need a store"), nil, "failed", "no store"
	}
	c, err := r.Store.Confirmation(ctx, token)
	if errors.Is(err, store.ErrNotFound) {
		return errResp("unknown or expired confirmation"), nil, "invalid", "unknown token"
	} else if err != nil {
		return r.internal(err, nil), nil, "failed", err.Error()
	}
	var words []string
	if err := json.Unmarshal([]byte(c.Args), &words); err != nil || len(words) == 0 {
		return r.internal(fmt.Errorf("confirmation %d: bad args", c.ID), nil), nil, "failed", "bad args"
	}
	v := r.Lookup(words[0])
	if v == nil {
		return errResp("%s is no longer available", words[0]), nil, "invalid", "verb gone"
	}
	leaf, path, args, flags, err := bind(v, v.Name, words[1:], r.targetNames())
	if err != nil {
		return errResp("%v", err), nil, "invalid", err.Error()
	}
	call := &Call{Req: req, Verb: leaf, Path: path, Args: args, Flags: flags, Now: now, reg: r}
	what := path
	if leaf.Describe != nil {
		what = leaf.Describe(call)
	}
	// Bound to where it was asked: a click elsewhere (a copied button, a
	// forged payload) changes nothing and leaves the confirmation usable.
	if req.Platform != c.Platform || req.Channel != c.Channel {
		return errResp("the confirmation of %s belongs to another channel; nothing was done (confirm it where it was asked)", what), call, "denied", "other channel"
	}
	if c.UsedBy != nil {
		return errResp("%s was already handled by %s", what, *c.UsedBy), call, "invalid", "already used"
	}
	if now.After(c.ExpiresAt.Time) {
		return errResp("the confirmation of %s expired at %s; run the command again", what, human.Time(c.ExpiresAt.Time, r.Zone())), call, "invalid", "expired"
	}
	d := r.Decide(req, path)
	if cancel {
		if req.Principal() != c.Requester && !d.Allowed {
			return errResp("only the requester or someone allowed to run %s may cancel", path), call, "denied", "cancel not allowed"
		}
		if err := r.Store.UseConfirmation(ctx, token, req.Principal(), now); err != nil {
			return errResp("%s was already handled", what), call, "invalid", "already used"
		}
		_ = r.Store.SetConfirmationOutcome(ctx, token, "cancelled")
		return Text("%s: cancelled by %s", what, call.Actor()), call, "cancelled", ""
	}
	if !d.Allowed {
		return errResp("%s", refusal("confirm", what, d)), call, "denied", denied(d)
	}
	if d.TwoPerson && req.Principal() == c.Requester {
		return errResp("%s needs a second person: someone other than the requester must confirm", what), call, "denied", "two-person rule"
	}
	if err := r.Store.UseConfirmation(ctx, token, req.Principal(), now); err != nil {
		if errors.Is(err, store.ErrUsed) {
			return errResp("%s was already confirmed", what), call, "invalid", "already used"
		}
		return r.internal(err, call), call, "failed", err.Error()
	}
	call.Grant = d
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

// truncate cuts s to at most n bytes on a character boundary: audit rows
// keep valid UTF-8, which PostgreSQL insists on.
func truncate(s string, n int) string { return textclip.Bytes(s, n, textclip.Ellipsis) }

// IsPrivate tells adapters whether the answer to req will be shown to the
// requester alone (a Private verb without --public), so a deferred answer
// can be deferred privately too.
func (r *Registry) IsPrivate(req Request) bool {
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
	leaf, _, _, flags, err := bind(v, v.Name, words[1:], r.targetNames())
	if err != nil {
		return false
	}
	_, public := flags["public"]
	return leaf.Private && !public
}
