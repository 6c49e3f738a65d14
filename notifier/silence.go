package notifier

import (
	"opsbot/alert"

	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"opsbot/store"
)

// MaxSilence bounds how long one silence may last.
const MaxSilence = 90 * 24 * time.Hour

// Matcher is a silence's conditions: every key must have its value. Keys
// are rule, target, kind, severity, fingerprint or any label name.
type Matcher []struct{ Key, Value string }

var keyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// ParseMatcher reads "key=value" or "key=value,key=value".
func ParseMatcher(s string) (Matcher, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, invalidf("empty matcher: want key=value, e.g. target=api or rule=cpu_high")
	}
	var m Matcher
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		k, v = strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"'`)
		if !ok || k == "" || v == "" {
			return nil, invalidf("bad matcher %q: want key=value, e.g. target=api or rule=cpu_high", part)
		}
		if !keyRE.MatchString(k) {
			return nil, invalidf("bad matcher key %q: letters, digits, _ . - only", k)
		}
		if k == "kind" && !contains(alert.Kinds, v) {
			return nil, invalidf("bad matcher: unknown kind %q (want %s)", v, strings.Join(alert.Kinds, ", "))
		}
		if k == "severity" && !contains(alert.Severities, v) {
			return nil, invalidf("bad matcher: unknown severity %q (want %s)", v, strings.Join(alert.Severities, ", "))
		}
		m = append(m, struct{ Key, Value string }{k, v})
	}
	return m, nil
}

func (m Matcher) String() string {
	parts := make([]string, len(m))
	for i, kv := range m {
		parts[i] = kv.Key + "=" + kv.Value
	}
	return strings.Join(parts, ",")
}

// Matches reports whether alert a meets every condition.
func (m Matcher) Matches(a store.AlertRow) bool {
	var labels map[string]string
	for _, kv := range m {
		var got string
		switch kv.Key {
		case "rule", "alertname":
			got = a.Rule
		case "target":
			got = a.Target
		case "kind":
			got = a.Kind
		case "severity":
			got = a.Severity
		case "fingerprint":
			got = a.Fingerprint
		default:
			if labels == nil {
				labels = map[string]string{}
				_ = json.Unmarshal([]byte(a.Labels), &labels)
			}
			got = labels[kv.Key]
		}
		if got != kv.Value {
			return false
		}
	}
	return true
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

type activeSilence struct {
	store.SilenceRow
	m Matcher
}

func (n *Notifier) activeSilences(ctx context.Context, q store.DBTX, now time.Time) ([]activeSilence, error) {
	rows, err := store.ActiveSilences(ctx, q, now)
	if err != nil {
		return nil, err
	}
	out := make([]activeSilence, 0, len(rows))
	for _, r := range rows {
		m, err := ParseMatcher(r.Matcher)
		if err != nil {
			n.log.Warn("stored silence has a bad matcher", "id", r.ID, "err", err)
			continue
		}
		out = append(out, activeSilence{SilenceRow: r, m: m})
	}
	return out, nil
}

// silencedBy returns the silence muting a that ends last.
func silencedBy(ss []activeSilence, a store.AlertRow) (store.SilenceRow, bool) {
	var best store.SilenceRow
	found := false
	for _, s := range ss {
		if s.m.Matches(a) && (!found || s.EndsAt.After(best.EndsAt.Time)) {
			best, found = s.SilenceRow, true
		}
	}
	return best, found
}

// Silence mutes alerts matching matcher for d. Matching alerts are still
// recorded; their messages are not sent (or repeated) until it ends.
func (n *Notifier) Silence(ctx context.Context, matcher string, d time.Duration, reason, by string) (store.SilenceRow, error) {
	m, err := ParseMatcher(matcher)
	if err != nil {
		return store.SilenceRow{}, err
	}
	if d <= 0 {
		return store.SilenceRow{}, invalidf("duration must be positive, got %s", d)
	}
	if d > MaxSilence {
		return store.SilenceRow{}, invalidf("duration %s is longer than %s", short(d), short(MaxSilence))
	}
	now := n.Now()
	r := store.SilenceRow{Matcher: m.String(), Reason: reason, CreatedBy: by, StartsAt: store.T(now), EndsAt: store.T(now.Add(d))}
	id, err := n.st.AddSilence(ctx, r)
	if err != nil {
		return r, err
	}
	r.ID = id
	return r, nil
}

// Silences lists the silences in force.
func (n *Notifier) Silences(ctx context.Context) ([]store.SilenceRow, error) {
	return store.ActiveSilences(ctx, n.st.DB, n.Now())
}

// Unsilence ends a silence now; alerts it held are routed at once.
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
