package notifier

import (
	"opsbot/alert"

	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	amlabels "github.com/prometheus/alertmanager/pkg/labels"

	"opsbot/routing"
	"opsbot/store"
)

// MaxSilence bounds how long one silence may last (the policy's per-role
// limit is usually much shorter).
const MaxSilence = 90 * 24 * time.Hour

// MaxSilenceLead bounds how far ahead a silence may start.
const MaxSilenceLead = 30 * 24 * time.Hour

const matcherHelp = `want e.g. target=api, severity!=warning, target=~"api.*" or rule!~"disk_.*"`

// ParseMatchers reads a silence's or subscription's matchers in
// Alertmanager's syntax (=, !=, =~, !~; regexps anchored; several separated
// by commas or given as separate words). Kinds and severities named with =
// must exist; and at least one matcher must not match the empty string (as
// Alertmanager: a silence of everything is refused).
func ParseMatchers(words ...string) (routing.Matchers, error) {
	var out routing.Matchers
	for _, w := range words {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		ms, err := routing.ParseMatchers(w)
		if err != nil || len(ms) == 0 {
			return nil, invalidf("bad matcher %q: %s", w, matcherHelp)
		}
		out = append(out, ms...)
	}
	if len(out) == 0 {
		return nil, invalidf("no matcher: %s", matcherHelp)
	}
	for _, m := range out {
		if m.Type != amlabels.MatchEqual {
			continue
		}
		if m.Name == "kind" && !contains(alert.Kinds, m.Value) {
			return nil, invalidf("bad matcher: unknown kind %q (want %s)", m.Value, strings.Join(alert.Kinds, ", "))
		}
		if m.Name == "severity" && !contains(alert.Severities, m.Value) {
			return nil, invalidf("bad matcher: unknown severity %q (want %s)", m.Value, strings.Join(alert.Severities, ", "))
		}
	}
	return out, nil
}

func selective(ms routing.Matchers) bool {
	for _, m := range ms {
		if !m.Matches("") {
			return true
		}
	}
	return false
}

// Labels returns the labels routing, inhibition and silences see for an
// alert: its own labels, then alertname and rule (the rule), kind,
// severity, target and fingerprint.
func Labels(a store.AlertRow) routing.Labels {
	ls := routing.Labels{}
	if a.Labels != "" && a.Labels != "{}" {
		_ = json.Unmarshal([]byte(a.Labels), &ls)
		if ls == nil { // "null"
			ls = routing.Labels{}
		}
	}
	if _, ok := ls["alertname"]; !ok {
		ls["alertname"] = a.Rule
	}
	ls["rule"], ls["kind"], ls["severity"], ls["fingerprint"] = a.Rule, a.Kind, a.Severity, a.Fingerprint
	if a.Target != "" {
		ls["target"] = a.Target
	}
	return ls
}

// ParseDuration reads a silence duration: Go's form (90m, 1h30m) plus days
// (2d). Zero, negative and longer than MaxSilence are refused.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n float64
		n, err = strconv.ParseFloat(days, 64)
		d = time.Duration(n * float64(24*time.Hour))
	} else {
		d, err = time.ParseDuration(s)
	}
	switch {
	case err != nil:
		return 0, invalidf("bad duration %q: want e.g. 30m, 2h or 1d", s)
	case d <= 0:
		return 0, invalidf("duration must be positive, got %q", s)
	case d > MaxSilence:
		return 0, invalidf("duration %q is longer than %s", s, short(MaxSilence))
	}
	return d, nil
}

// activeSilences are the silences in force at one instant, indexed.
type activeSilences struct {
	set  *routing.SilenceSet
	rows map[int64]store.SilenceRow
}

func (a activeSilences) Len() int { return len(a.rows) }

// activeSilences returns the silences in force at now.
func (n *Notifier) activeSilences(ctx context.Context, q store.DBTX, now time.Time) (activeSilences, error) {
	rows, err := store.ActiveSilences(ctx, q, now)
	if err != nil {
		return activeSilences{}, err
	}
	out := activeSilences{rows: make(map[int64]store.SilenceRow, len(rows))}
	ss := make([]routing.Silence, 0, len(rows))
	for _, r := range rows {
		m, err := routing.ParseMatchers(r.Matcher)
		if err != nil {
			n.log.Warn("stored silence has a bad matcher", "id", r.ID, "err", err)
			continue
		}
		out.rows[r.ID] = r
		ss = append(ss, routing.Silence{ID: r.ID, Matchers: m, StartsAt: r.StartsAt.Time, EndsAt: r.EndsAt.Time})
	}
	out.set = routing.NewSilenceSet(ss, now)
	return out, nil
}

// silencedBy returns the silence muting a that ends last.
func silencedBy(ss activeSilences, a store.AlertRow) (store.SilenceRow, bool) {
	return ss.muting(Labels(a))
}

func (ss activeSilences) muting(ls routing.Labels) (store.SilenceRow, bool) {
	if len(ss.rows) == 0 {
		return store.SilenceRow{}, false
	}
	s, ok := ss.set.SilencedBy(ls)
	if !ok {
		return store.SilenceRow{}, false
	}
	return ss.rows[s.ID], true
}

// SilenceRequest is a silence to add. Matchers are words of Alertmanager
// matchers; Start zero means now; exactly one of Duration and Until.
type SilenceRequest struct {
	Matchers []string
	Start    time.Time
	Duration time.Duration
	Until    time.Time
	Reason   string
	By       string
	// Max is the longest the asker may silence for (the policy's
	// roles.<name>.silence_max); 0 means MaxSilence.
	Max time.Duration
}

// AddSilence mutes alerts matching the request's matchers from its start
// for its duration. Matching alerts are still recorded; their messages are
// not sent (or repeated) while it is in force.
func (n *Notifier) AddSilence(ctx context.Context, req SilenceRequest) (store.SilenceRow, error) {
	ms, err := ParseMatchers(req.Matchers...)
	if err != nil {
		return store.SilenceRow{}, err
	}
	if !selective(ms) {
		return store.SilenceRow{}, invalidf("matchers %s match every alert: name at least one label value", ms)
	}
	if strings.TrimSpace(req.Reason) == "" {
		return store.SilenceRow{}, invalidf("a silence needs a reason (why, and who to ask)")
	}
	now := n.Now()
	start := req.Start
	switch {
	case start.IsZero() || start.Before(now):
		start = now
	case start.Sub(now) > MaxSilenceLead:
		return store.SilenceRow{}, invalidf("start %s is more than %s ahead", start.UTC().Format("2006-01-02 15:04"), short(MaxSilenceLead))
	}
	d := req.Duration
	switch {
	case d != 0 && !req.Until.IsZero():
		return store.SilenceRow{}, invalidf("give a duration or --until, not both")
	case !req.Until.IsZero():
		d = req.Until.Sub(start)
		if d <= 0 {
			return store.SilenceRow{}, invalidf("--until %s is not after the start", req.Until.UTC().Format("2006-01-02 15:04"))
		}
	case d <= 0:
		return store.SilenceRow{}, invalidf("duration must be positive, got %s", d)
	}
	limit := req.Max
	if limit <= 0 || limit > MaxSilence {
		limit = MaxSilence
	}
	if d > limit {
		return store.SilenceRow{}, &silenceTooLong{d: d, max: limit}
	}
	r := store.SilenceRow{Matcher: ms.String(), Reason: strings.TrimSpace(req.Reason), CreatedBy: req.By, StartsAt: store.T(start), EndsAt: store.T(start.Add(d))}
	id, err := n.st.AddSilence(ctx, r)
	if err != nil {
		return r, err
	}
	r.ID = id
	return r, nil
}

// ErrSilenceTooLong is wrapped by a silence longer than the asker may set.
var ErrSilenceTooLong = fmt.Errorf("silence too long: %w", ErrInvalid)

type silenceTooLong struct{ d, max time.Duration }

func (e *silenceTooLong) Error() string {
	return fmt.Sprintf("a silence of %s is longer than allowed (at most %s)", short(e.d), short(e.max))
}
func (e *silenceTooLong) Is(target error) bool {
	return target == ErrInvalid || target == ErrSilenceTooLong
}

// Asked is the duration asked for.
func (e *silenceTooLong) Asked() time.Duration { return e.d }

// Max reports the limit the silence broke.
func (e *silenceTooLong) Max() time.Duration { return e.max }

// Silence mutes alerts matching matcher for d from now (a short form of
// AddSilence).
func (n *Notifier) Silence(ctx context.Context, matcher string, d time.Duration, reason, by string) (store.SilenceRow, error) {
	if d <= 0 {
		return store.SilenceRow{}, invalidf("duration must be positive, got %s", d)
	}
	return n.AddSilence(ctx, SilenceRequest{Matchers: []string{matcher}, Duration: d, Reason: reason, By: by})
}

// Silences lists the silences in force or yet to start.
func (n *Notifier) Silences(ctx context.Context) ([]store.SilenceRow, error) {
	return store.CurrentSilences(ctx, n.st.DB, n.Now())
}

// Unsilence ends a silence now (or cancels one yet to start); alerts it
// held are routed at once.
func (n *Notifier) Unsilence(ctx context.Context, id int64, by string) error {
	now := n.Now()
	if err := n.st.RemoveSilence(ctx, id, by, now); err != nil {
		return fmt.Errorf("unsilence: %w", err)
	}
	n.mu.Lock()
	err := n.st.Tx(ctx, func(tx *sqlx.Tx) error { return store.ReleaseSilenced(ctx, tx, id, now) })
	n.mu.Unlock()
	if err != nil {
		return err
	}
	return n.Tick(ctx)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
