// Package commands holds the platform-neutral verbs of /ops: a registry that
// rejects duplicate names, parsing (shell-like words, flags anywhere after
// the verb), rate limits, confirmations of dangerous verbs, redaction and an
// audit row for every command. Who may run what, where, it asks the policy
// (package policy) with each verb's declared entry. Chat adapters hand it a
// Request and render the Response; verbs call the work packages.
package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"opsbot/chat"
	"opsbot/config"
	"opsbot/human"
	"opsbot/locale"
	"opsbot/policy"
)

// Request is one command as an adapter received it.
type Request struct {
	Platform string   // slack, discord, console
	User     string   // platform user id
	UserName string   // display name, for replies and audit
	Roles    []string // platform role ids the user has (Discord)
	Channel  string   // platform channel id
	Text     string   // the command text after /ops
	// Args, when not nil, are the words already split (Discord's typed
	// options); Text is then only for the audit row.
	Args []string
	// Local is the shell's own user, trusted like the machine's operator.
	Local bool
	// Confirmed skips the confirmation step (shell --yes, or after a prompt);
	// the registry honours it only for the Local user.
	Confirmed bool
	// Progress, when set, receives progress of long work so the adapter can
	// update its message.
	Progress func(chat.Message)
	// Locale is the user's own language where the platform says it
	// (Discord: the interaction's locale, else guild_locale), for replies
	// only that user sees; "" follows the channel.
	Locale string
}

// Principal is the user as roles name it: "slack:U123".
func (r *Request) Principal() string { return r.Platform + ":" + r.User }

// Address is the channel as config names it: "slack:C123".
func (r *Request) Address() string {
	if r.Channel == "" {
		return r.Platform
	}
	return r.Platform + ":" + r.Channel
}

// Response is what a verb answers.
type Response struct {
	chat.Message
	// Ephemeral replies are shown only to the requester where the platform can.
	Ephemeral bool `json:"ephemeral,omitempty"`
}

// Text makes a plain response.
func Text(format string, args ...any) Response {
	return Response{Message: chat.Message{Text: fmt.Sprintf(format, args...)}}
}

// UserError is shown to the user as it is.
type UserError struct{ Msg string }

func (e *UserError) Error() string { return e.Msg }

// Errorf makes a UserError.
func Errorf(format string, args ...any) error { return &UserError{Msg: fmt.Sprintf(format, args...)} }

// Flag is a --flag of a verb.
type Flag struct {
	Name    string // long name without dashes
	Short   string // one letter, or "" (e.g. "C" for -C)
	Bool    bool   // takes no value
	Help    string
	Choices []string // allowed values, if any
	// Suggest are values offered where the platform can (Discord choices)
	// without refusing others (a comma list of log names).
	Suggest []string
	Kind    string // "string" (default), "int", "number", "duration" — for native options
	// Aliases map other words people type to one of Choices ("sev1" →
	// "critical"); matching is case-insensitive either way.
	Aliases map[string]string
}

// Param is a positional argument.
type Param struct {
	Name     string
	Help     string
	Required bool
	Rest     bool // takes every remaining word, joined by spaces
	Choices  []string
	Kind     string // "int", "number", "duration", "user", or "" for any word
	// Aliases map other words people type to one of Choices
	// ("postmortem" → "post-mortem").
	Aliases map[string]string
}

// SeverityAliases are the words people type for the two severities: sev1
// and high mean critical, sev2 and low mean warning.
var SeverityAliases = withWords(map[string]string{"sev1": "critical", "high": "critical", "sev2": "warning", "low": "warning", "crit": "critical", "warn": "warning"}, locale.SeverityWords())

// withWords adds the aliases of more (the guide's Chinese words) to m.
func withWords(m, more map[string]string) map[string]string {
	for k, v := range more {
		m[k] = v
	}
	return m
}

// choice returns the choice val means (case-insensitive, or by alias).
func choice(choices []string, aliases map[string]string, val string) (string, bool) {
	for _, c := range choices {
		if strings.EqualFold(c, val) {
			return c, true
		}
	}
	for a, c := range aliases {
		if strings.EqualFold(a, val) {
			return c, true
		}
	}
	return "", false
}

// Handler runs a verb.
type Handler func(ctx context.Context, c *Call) (Response, error)

// Verb is one command. A verb with Subs dispatches on its first word
// (Default when the word is not a sub, e.g. "backup" = "backup create").
type Verb struct {
	Name     string
	Summary  string
	Usage    string
	Examples []string
	Flags    []Flag
	Params   []Param
	Subs     []*Verb
	Default  string
	// Aliases are other names of the verb or subcommand ("post-mortem").
	Aliases []string
	// Access is the verb's policy entry: read-only (everyone), changes
	// state (a role), admin only, or dangerous (admin and a confirmation).
	// A runnable verb without one is refused to everyone.
	Access policy.Class
	// Slow verbs are acknowledged at once and answered later by adapters.
	Slow bool
	// Private verbs answer with text that may quote logs: the reply is
	// shown only to the requester unless the call has --public (the verb
	// declares that flag).
	Private bool
	// Describe words the confirmation prompt ("restart api").
	Describe func(c *Call) string
	// Target names the served target a call concerns (for audit and incident timelines).
	Target func(c *Call) string
	// Check, when set, validates a call before anything else happens, in
	// particular before a dangerous verb asks for a confirmation: nobody
	// should confirm "restart" of a target that does not exist.
	Check func(ctx context.Context, c *Call) error
	Run   Handler
}

// DefaultTarget is the target a call means: the one it names, else the only
// configured one, else "" (the verb then asks which).
func DefaultTarget(cfg *config.Config, named string) string {
	if named != "" {
		return named
	}
	if names := cfg.TargetNames(); len(names) == 1 {
		return names[0]
	}
	return ""
}

// PickTarget resolves the target a call means: the named one, or the only
// one configured; otherwise a UserError that lists the targets.
func PickTarget(cfg *config.Config, named string) (config.Target, error) {
	names := strings.Join(cfg.TargetNames(), ", ")
	name := DefaultTarget(cfg, named)
	switch {
	case len(cfg.Targets) == 0:
		return config.Target{}, Errorf("no target is configured")
	case name == "":
		return config.Target{}, Errorf("several targets are configured (%s): name one", names)
	}
	t, ok := cfg.Target(name)
	if !ok {
		if t, ok = targetFold(cfg, name); !ok {
			return config.Target{}, UnknownTarget(cfg, name)
		}
	}
	return t, nil
}

// UnknownTarget is the one wording of a target that is not configured:
// `unknown target "api-1"; targets: demo` (or "did you mean …?").
func UnknownTarget(cfg *config.Config, name string) error {
	return Unknown("target", "targets", name, cfg.TargetNames())
}

// targetFold finds a target whose name differs from name only in case.
func targetFold(cfg *config.Config, name string) (config.Target, bool) {
	for _, n := range cfg.TargetNames() {
		if strings.EqualFold(n, name) {
			return cfg.Target(n)
		}
	}
	return config.Target{}, false
}

// Sub returns the subcommand named name or one of its aliases, in any case.
func (v *Verb) Sub(name string) *Verb {
	for _, s := range v.Subs {
		if s.named(name) {
			return s
		}
	}
	return nil
}

// named reports whether name is v's name or an alias, in any case.
func (v *Verb) named(name string) bool {
	if strings.EqualFold(v.Name, name) {
		return true
	}
	for _, a := range v.Aliases {
		if strings.EqualFold(a, name) {
			return true
		}
	}
	return false
}

// SubNames are the names of v's subcommands, in order.
func (v *Verb) SubNames() []string {
	names := make([]string, len(v.Subs))
	for i, s := range v.Subs {
		names[i] = s.Name
	}
	return names
}

// Call is a parsed invocation.
type Call struct {
	Req   *Request
	Verb  *Verb
	Path  string // "logs search"
	Args  []string
	Flags map[string]string
	// Now is the registry's clock at the start of the call.
	Now time.Time
	// Grant is the policy's decision that let the call run: the roles
	// that grant it and their limits (the longest silence).
	Grant policy.Decision

	// Redactor is the one the registry applies to the reply. Verbs that
	// match or cut text before it is shown (a log search) use it first.
	// Nil applies the built-in rules.
	Redactor *chat.Redactor

	reg *Registry
}

// Line is the call as it would be typed, without "/ops": `logs search
// ERROR --since 10m`, for mirrors in incident threads.
func (c *Call) Line() string {
	var pos []string
	for i, a := range c.Args {
		// A rest parameter's words were joined: give them back unquoted.
		if i < len(c.Verb.Params) && c.Verb.Params[i].Rest {
			pos = append(pos, strings.Fields(a)...)
			continue
		}
		pos = append(pos, a)
	}
	return strings.TrimPrefix(commandLine(c.Path, pos, c.Verb, c.Flags), "/ops ")
}

// Has reports whether a flag was given.
func (c *Call) Has(name string) bool { _, ok := c.Flags[name]; return ok }

// Flag returns a flag's value ("" when absent).
func (c *Call) Flag(name string) string { return c.Flags[name] }

// Int returns an int flag or def; a bad number is a UserError.
func (c *Call) Int(name string, def int) (int, error) {
	v, ok := c.Flags[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, Errorf("--%s wants a whole number, got %q", name, v)
	}
	return n, nil
}

// Time shows t in the one configured zone: "2026-12-01 20:00 +08:00".
func (c *Call) Time(t time.Time) string {
	var loc *time.Location
	if c.reg != nil {
		loc = c.reg.Zone()
	}
	return human.Time(t, loc)
}

// Zone is the one zone replies show times in.
func (c *Call) Zone() *time.Location {
	if c.reg == nil {
		return time.UTC
	}
	return c.reg.Zone()
}

// Ago shows how long ago t was, and when: "6 h ago (2026-12-01 20:00 +08:00)".
func (c *Call) Ago(t time.Time) string {
	var loc *time.Location
	if c.reg != nil {
		loc = c.reg.Zone()
	}
	return human.Ago(t, c.Now, loc)
}

// Arg returns positional i or "".
func (c *Call) Arg(i int) string {
	if i < len(c.Args) {
		return c.Args[i]
	}
	return ""
}

// Progress reports progress of long work to the adapter, if it listens.
func (c *Call) Progress(format string, args ...any) {
	if c.Req != nil && c.Req.Progress != nil {
		c.Req.Progress(c.Redactor.Message(chat.Message{Text: fmt.Sprintf(format, args...)}))
	}
}

// Actor is who ran the call, for timelines: "slack:U123 (alice)".
func (c *Call) Actor() string {
	if c.Req.UserName != "" && c.Req.UserName != c.Req.User {
		return c.Req.Principal() + " (" + c.Req.UserName + ")"
	}
	return c.Req.Principal()
}

// UsageLine is the usage of a verb for errors and help, always in the one
// form people type: "usage: /ops logs tail <kind> [n]". A flag with a
// closed set of values shows them ("[--sev critical|warning]").
func UsageLine(v *Verb, path string) string {
	if v.Usage != "" {
		return "usage: " + opsForm(v.Usage)
	}
	var b strings.Builder
	b.WriteString("usage: " + opsForm(path))
	if len(v.Subs) > 0 {
		b.WriteString(" " + strings.Join(v.SubNames(), "|"))
	}
	for _, p := range v.Params {
		n := p.Name
		if p.Rest {
			n += "…"
		}
		if p.Required {
			b.WriteString(" <" + n + ">")
		} else {
			b.WriteString(" [" + n + "]")
		}
	}
	for _, f := range v.Flags {
		switch {
		case f.Bool:
			b.WriteString(" [--" + f.Name + "]")
		case len(f.Choices) > 0:
			b.WriteString(" [--" + f.Name + " " + strings.Join(f.Choices, "|") + "]")
		default:
			b.WriteString(" [--" + f.Name + " " + strings.ToUpper(f.Name[:1]) + "]")
		}
	}
	return b.String()
}

// opsForm puts "/ops " before each form of a usage ("a · b" has two).
func opsForm(usage string) string {
	forms := strings.Split(usage, " · ")
	for i, f := range forms {
		f = strings.TrimSpace(f)
		f = strings.TrimPrefix(strings.TrimPrefix(f, "/ops "), "ops ")
		forms[i] = "/ops " + f
	}
	return strings.Join(forms, " · ")
}
