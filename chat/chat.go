// Package chat holds the platform-neutral message and the Poster contract
// every chat platform (Slack, Discord, the console) implements.
package chat

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Severity of a message; it picks the colour or emoji a platform shows.
type Severity string

const (
	SevNone     Severity = ""
	SevInfo     Severity = "info"
	SevOK       Severity = "ok"
	SevWarning  Severity = "warning"
	SevCritical Severity = "critical"
	SevResolved Severity = "resolved"
)

// Field is one short name/value pair shown side by side where the platform can.
type Field struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Inline bool   `json:"inline,omitempty"`
}

// ButtonStyle decides how a button is drawn.
type ButtonStyle string

const (
	StyleDefault ButtonStyle = ""
	StylePrimary ButtonStyle = "primary"
	StyleDanger  ButtonStyle = "danger"
)

// Button is an interactive button. ID names the action (e.g. "confirm",
// "ack"); Value carries its argument (a confirmation token, an alert id).
// Confirm, when set, asks the platform to show its own are-you-sure dialog.
type Button struct {
	ID      string      `json:"id"`
	Label   string      `json:"label"`
	Value   string      `json:"value"`
	Style   ButtonStyle `json:"style,omitempty"`
	Confirm string      `json:"confirm,omitempty"`
}

// File is an attachment: long search results, a post-mortem, a chart.
type File struct {
	Name string `json:"name"`
	Mime string `json:"mime,omitempty"`
	Data []byte `json:"-"`
}

// Message is what any part of opsbot says to a chat. Platforms render it
// natively (Block Kit, embeds, plain text).
type Message struct {
	Title    string   `json:"title,omitempty"`
	Severity Severity `json:"severity,omitempty"`
	Text     string   `json:"text,omitempty"`
	Fields   []Field  `json:"fields,omitempty"`
	Code     string   `json:"code,omitempty"`
	Context  string   `json:"context,omitempty"`
	Buttons  []Button `json:"buttons,omitempty"`
	Files    []File   `json:"files,omitempty"`
	// Mentions are platform user or group ids to notify (on-call).
	Mentions []string `json:"mentions,omitempty"`
	// Key is an idempotency key (the outbox id) that travels with the
	// message (Discord nonce, Slack metadata) so a resend can be recognised.
	Key string `json:"key,omitempty"`
	// Page, on a message to a paging integration, is the page itself.
	Page *Page `json:"page,omitempty"`
}

// Ref points at a posted message so it can be updated or replied to.
type Ref struct {
	Platform string `json:"platform" db:"platform"`
	Channel  string `json:"channel" db:"channel"`
	ID       string `json:"id" db:"message_id"` // Slack ts, Discord message id, console sequence
	Thread   string `json:"thread,omitempty" db:"thread_id"`
}

// IsZero reports whether the reference points at nothing.
func (r Ref) IsZero() bool { return r.ID == "" }

// Poster is implemented by every platform. A poster makes exactly one
// attempt and classifies failures (RetryAfterError, ErrPermanent); waiting
// and retrying live in the caller (the notifier's delivery worker).
type Poster interface {
	// Post sends m to a channel.
	Post(ctx context.Context, channel string, m Message) (Ref, error)
	// Update edits a posted message in place.
	Update(ctx context.Context, ref Ref, m Message) error
	// Reply posts m in the thread of parent (starting the thread if needed).
	Reply(ctx context.Context, parent Ref, m Message) (Ref, error)
}

// Finder is implemented by posters that can find a message posted earlier
// with a given idempotency key (Slack metadata in channel history). The
// delivery worker asks before a resend after a crash.
type Finder interface {
	FindByKey(ctx context.Context, channel, key string) (Ref, bool, error)
}

// WindowFinder is a Finder that bounds its search to when the message can
// have been posted (an outbox row's creation to now), so recovery reads a
// busy channel only as far back as it must, page by page.
type WindowFinder interface {
	FindByKeyBetween(ctx context.Context, channel, key string, from, to time.Time) (Ref, bool, error)
}

// ErrPermanent marks a failure that retrying cannot fix (401, 403, unknown channel).
var ErrPermanent = errors.New("permanent failure")

// RetryAfterError says the platform asked us to wait before trying again.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("retry after %s: %v", e.After, e.Err)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }

// Permanent wraps err so errors.Is(err, ErrPermanent) holds.
func Permanent(err error) error { return fmt.Errorf("%w: %w", ErrPermanent, err) }

// RetryAfter extracts the wait a platform asked for, if any.
func RetryAfter(err error) (time.Duration, bool) {
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		return ra.After, true
	}
	return 0, false
}
