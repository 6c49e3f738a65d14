package incident

import (
	"fmt"
	"opsbot/locale"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Severities an incident may have.
const (
	SevCritical = "critical"
	SevWarning  = "warning"
)

// Incident is one incident's state.
type Incident struct {
	ID       int64
	Title    string
	Severity string // critical | warning
	Stage    Stage
	// Target is the served target the incident concerns ("" = every target).
	Target   string
	Lead     string // a user mention, "" when nobody leads
	OpenedBy string
	// Channel is where the incident's thread was started ("" = none).
	Channel  string
	OpenedAt time.Time
	StageAt  time.Time
	// ClockAt is the base of the target times: the opening, moved on
	// reopen so the reopened stage gets its own window again.
	ClockAt     time.Time
	AckedAt     time.Time
	RecoveredAt time.Time
	ClosedAt    time.Time
	// Version grows with every change; writes compare it to refuse lost updates.
	Version int64
}

// IsOpen reports whether the incident is not closed.
func (i Incident) IsOpen() bool { return i.Stage != Closed }

// IsActive reports whether the incident is still being worked on (before
// post-mortem); alerts and automatic opens attach only to active incidents.
func (i Incident) IsActive() bool { return i.Stage < PostMortem }

// Deadline is when the current stage's target time passes; zero when closed.
func (i Incident) Deadline() time.Time {
	if i.Stage == Closed || !i.Stage.Valid() {
		return time.Time{}
	}
	return i.ClockAt.Add(i.Stage.Target())
}

// Overdue reports whether the current stage's target time has been reached.
func (i Incident) Overdue(now time.Time) bool {
	d := i.Deadline()
	return !d.IsZero() && !now.Before(d)
}

// ReminderKey names one stage overrun: the same key is reminded only once.
func (i Incident) ReminderKey() string {
	return fmt.Sprintf("%s@%d", i.Stage, i.ClockAt.UnixMilli())
}

// Elapsed is the time since opening (until closing, once closed).
func (i Incident) Elapsed(now time.Time) time.Duration {
	if !i.ClosedAt.IsZero() {
		return i.ClosedAt.Sub(i.OpenedAt)
	}
	return now.Sub(i.OpenedAt)
}

// Move applies a stage change through Transition and returns the new state.
func (i Incident) Move(to Stage, reopen bool, now time.Time) (Incident, error) {
	if err := Transition(i.Stage, to, reopen); err != nil {
		return i, err
	}
	n := i
	n.Stage, n.StageAt = to, now
	if reopen {
		start, _ := to.Window()
		n.ClockAt = now.Add(-start)
		n.ClosedAt = time.Time{}
		if to < PostMortem {
			n.RecoveredAt = time.Time{}
		}
	}
	if to >= PostMortem && n.RecoveredAt.IsZero() {
		n.RecoveredAt = now
	}
	if to == Closed {
		n.ClosedAt = now
	}
	return n, nil
}

// ParseSeverity accepts critical or warning ("" is critical), or the
// guide's Chinese words for them (严重, 警告).
func ParseSeverity(s string) (string, error) {
	if c, ok := locale.Severity(s); ok {
		s = c
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", SevCritical:
		return SevCritical, nil
	case SevWarning:
		return SevWarning, nil
	}
	return "", Refusef(ErrBadInput, "severity must be critical or warning, got %q", s)
}

// CheckTitle trims a title and refuses an empty one or one over max characters.
func CheckTitle(title string, max int) (string, error) {
	t := strings.Join(strings.Fields(title), " ")
	if t == "" {
		return "", Refusef(ErrBadInput, "an incident needs a title")
	}
	if n := utf8.RuneCountInString(t); max > 0 && n > max {
		return "", Refusef(ErrBadInput, "title is %d characters long; at most %d", n, max)
	}
	return t, nil
}

// ShortTitle cuts an automatic title to max characters.
func ShortTitle(title string, max int) string {
	t := strings.Join(strings.Fields(title), " ")
	if max > 0 && utf8.RuneCountInString(t) > max {
		r := []rune(t)
		t = string(r[:max-1]) + "…"
	}
	return t
}

var (
	slackMention   = regexp.MustCompile(`^<@([UW][A-Z0-9]+)(\|[^<>]*)?>$`)
	discordMention = regexp.MustCompile(`^<@!?([0-9]{1,25})>$`)
	shellMention   = regexp.MustCompile(`^@[\p{L}\p{N}][\p{L}\p{M}\p{N}._-]{0,63}$`) // any script: @张三, @José
)

// ParseMention accepts a user mention in the form of the platform the
// command came from — Slack <@U123>, Discord <@123>, the shell's @name — and
// returns it in its plain form. An unknown platform accepts any of them.
func ParseMention(platform, s string) (string, error) {
	s = strings.TrimSpace(s)
	var out string
	if m := slackMention.FindStringSubmatch(s); m != nil && (platform == "slack" || !knownPlatform(platform)) {
		out = "<@" + m[1] + ">"
	} else if m := discordMention.FindStringSubmatch(s); m != nil && (platform == "discord" || !knownPlatform(platform)) {
		out = "<@" + m[1] + ">"
	} else if shellMention.MatchString(s) && (platform == "console" || !knownPlatform(platform)) {
		out = s
	}
	if out == "" {
		return "", Refusef(ErrBadInput, "the lead must be a user mention (%s), got %q", mentionForm(platform), cut(s, 40))
	}
	return out, nil
}

// IsMention reports whether s is a mention in one of the plain forms.
func IsMention(s string) bool {
	return slackMention.MatchString(s) || discordMention.MatchString(s) || shellMention.MatchString(s)
}

func knownPlatform(p string) bool { return p == "slack" || p == "discord" || p == "console" }

func mentionForm(platform string) string {
	switch platform {
	case "slack":
		return "@someone, sent as <@U123>"
	case "discord":
		return "@someone, sent as <@123>"
	case "console":
		return "@name"
	}
	return "<@U123>, <@123> or @name"
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// FormatDuration writes a duration for people: 45s, 4m, 4m30s, 1h05m, 2d3h.
func FormatDuration(d time.Duration) string {
	if d < 0 {
		return "-" + FormatDuration(-d)
	}
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		m, s := int(d/time.Minute), int(d%time.Minute/time.Second)
		if s == 0 {
			return fmt.Sprintf("%dm", m)
		}
		return fmt.Sprintf("%dm%02ds", m, s)
	case d < 48*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%02dm", h, m)
	}
	days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	if h == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd%dh", days, h)
}

// MentionID is what a chat message's Mentions list wants for a mention:
// the platform user id of <@U123> or <@123>, or the shell's @name as is.
func MentionID(mention string) string {
	if m := slackMention.FindStringSubmatch(mention); m != nil {
		return m[1]
	}
	if m := discordMention.FindStringSubmatch(mention); m != nil {
		return m[1]
	}
	return mention
}

// LeadName is a mention as plain text (@U123, @123, @name): platforms
// escape mention syntax in text, so the real mention travels in Mentions.
func LeadName(mention string) string {
	if id := MentionID(mention); id != mention {
		return "@" + id
	}
	return mention
}
