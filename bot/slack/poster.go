package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/time/rate"

	"opsbot/chat"
)

// Poster posts, replies, edits and uploads through the Web API. Each call
// makes one attempt and classifies a failure (chat.RetryAfterError,
// chat.ErrPermanent, or plain = retry later); the caller retries.
type Poster struct{ a *Adapter }

var (
	_ chat.Poster = (*Poster)(nil)
	_ chat.Finder = (*Poster)(nil)
)

// Poster returns the adapter's outbound side.
func (a *Adapter) Poster() *Poster { return &Poster{a: a} }

// Post sends m to a channel (a Slack channel id).
func (p *Poster) Post(ctx context.Context, channel string, m chat.Message) (chat.Ref, error) {
	return p.post(ctx, channel, "", m)
}

// Reply posts m in the thread of parent.
func (p *Poster) Reply(ctx context.Context, parent chat.Ref, m chat.Message) (chat.Ref, error) {
	thread := parent.Thread
	if thread == "" {
		thread = parent.ID
	}
	if thread == "" {
		return chat.Ref{}, chat.Permanent(errors.New("slack reply: parent has no ts"))
	}
	return p.post(ctx, parent.Channel, thread, m)
}

func (p *Poster) post(ctx context.Context, channel, thread string, m chat.Message) (chat.Ref, error) {
	if channel == "" {
		return chat.Ref{}, chat.Permanent(errors.New("slack post: no channel"))
	}
	if err := p.a.pace(ctx, channel); err != nil {
		return chat.Ref{}, err
	}
	m = attachLong(m)
	opts := Render(m).options()
	if thread != "" {
		opts = append(opts, slack.MsgOptionTS(thread))
	}
	if m.Key != "" {
		opts = append(opts, slack.MsgOptionMetadata(slack.SlackMetadata{EventType: metadataEventType, EventPayload: map[string]any{"key": m.Key}}))
	}
	ch, ts, err := p.a.api().PostMessageContext(ctx, channel, opts...)
	if err != nil {
		err = p.a.classify("slack chat.postMessage", err)
		var se slack.SlackErrorResponse
		if errors.As(err, &se) && permanentErrors[se.Err] {
			p.a.note(channel, se.Err)
		}
		return chat.Ref{}, err
	}
	p.a.problem("api", "")
	p.a.note(channel, "")
	ref := chat.Ref{Platform: "slack", Channel: ch, ID: ts, Thread: thread}
	fileThread := thread
	if fileThread == "" {
		fileThread = ts
	}
	// Files go into the message's thread. The message is out, so a failed
	// upload is not returned (a resend would post the message twice): the
	// thread is told, with the file's start.
	for _, f := range m.Files {
		p.sendFile(ctx, ch, fileThread, f)
	}
	return ref, nil
}

// Update edits a posted message in place (files are not re-sent).
func (p *Poster) Update(ctx context.Context, ref chat.Ref, m chat.Message) error {
	if ref.Channel == "" || ref.ID == "" {
		return chat.Permanent(errors.New("slack chat.update: empty message reference"))
	}
	opts := Render(m).updateOptions()
	if m.Key != "" {
		opts = append(opts, slack.MsgOptionMetadata(slack.SlackMetadata{EventType: metadataEventType, EventPayload: map[string]any{"key": m.Key}}))
	}
	if _, _, _, err := p.a.api().UpdateMessageContext(ctx, ref.Channel, ref.ID, opts...); err != nil {
		return p.a.classify("slack chat.update", err)
	}
	p.a.problem("api", "")
	return nil
}

// upload sends one file with the three-step external upload.
func (p *Poster) upload(ctx context.Context, channel, thread string, f chat.File) error {
	if len(f.Data) == 0 {
		return nil
	}
	_, err := p.a.api().UploadFileContext(ctx, slack.UploadFileParameters{
		Reader:          bytes.NewReader(f.Data),
		FileSize:        len(f.Data),
		Filename:        f.Name,
		Title:           f.Name,
		Channel:         channel,
		ThreadTimestamp: thread,
	})
	if err != nil {
		return p.a.classify("slack file upload", err)
	}
	return nil
}

// History is read a page at a time, and no further than maxHistoryPages:
// a resend after a crash concerns the row's own few minutes.
const (
	historyPage     = 200
	maxHistoryPages = 50
	// findWindow is how far back FindByKey looks without a window.
	findWindow = 24 * time.Hour
)

// FindByKey looks for a top-level message of channel from the last day
// carrying key in its metadata.
func (p *Poster) FindByKey(ctx context.Context, channel, key string) (chat.Ref, bool, error) {
	now := p.a.now()
	return p.FindByKeyBetween(ctx, channel, key, now.Add(-findWindow), now.Add(time.Minute))
}

var _ chat.WindowFinder = (*Poster)(nil)

// FindByKeyBetween looks for a top-level message posted between from and
// to carrying key in its metadata: conversations.history with
// include_all_metadata, bounded by oldest and latest, page by page.
// Thread replies are not in a channel's history.
func (p *Poster) FindByKeyBetween(ctx context.Context, channel, key string, from, to time.Time) (chat.Ref, bool, error) {
	params := &slack.GetConversationHistoryParameters{
		ChannelID: channel, Limit: historyPage, IncludeAllMetadata: true, Inclusive: true,
		Oldest: slackTS(from), Latest: slackTS(to),
	}
	for range maxHistoryPages {
		res, err := p.a.api().GetConversationHistoryContext(ctx, params)
		if err != nil {
			return chat.Ref{}, false, p.a.classify("slack conversations.history", err)
		}
		for _, m := range res.Messages {
			if m.Metadata.EventType != metadataEventType {
				continue
			}
			if k, _ := m.Metadata.EventPayload["key"].(string); k == key {
				ref := chat.Ref{Platform: "slack", Channel: channel, ID: m.Timestamp}
				if m.ThreadTimestamp != "" && m.ThreadTimestamp != m.Timestamp {
					ref.Thread = m.ThreadTimestamp
				}
				return ref, true, nil
			}
		}
		next := res.ResponseMetaData.NextCursor
		if !res.HasMore || next == "" {
			return chat.Ref{}, false, nil
		}
		params.Cursor = next
	}
	return chat.Ref{}, false, fmt.Errorf("slack conversations.history: key %s not within %d pages", key, maxHistoryPages)
}

// slackTS writes t as a Slack timestamp (seconds.micros).
func slackTS(t time.Time) string {
	return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000)
}

var errPaced = errors.New("pacing posts to about one a second per channel")

// pace keeps posts to a channel near Slack's one message a second. A short
// wait is taken here; a longer one is handed back as RetryAfterError so the
// caller's worker is not held.
func (a *Adapter) pace(ctx context.Context, channel string) error {
	if a.pacePer <= 0 {
		return nil
	}
	a.lmu.Lock()
	l, ok := a.limiters[channel]
	if !ok {
		l = rate.NewLimiter(rate.Every(a.pacePer), a.paceBurst)
		a.limiters[channel] = l
	}
	a.lmu.Unlock()
	r := l.Reserve()
	d := r.Delay()
	if d == 0 {
		return nil
	}
	if d > a.maxPaceWait {
		r.Cancel()
		return &chat.RetryAfterError{After: d, Err: errPaced}
	}
	if !sleep(ctx, d) {
		r.Cancel()
		return ctx.Err()
	}
	return nil
}

// Slack errors that retrying cannot fix.
var permanentErrors = map[string]bool{
	"channel_not_found": true, "not_in_channel": true, "is_archived": true, "msg_too_long": true,
	"no_text": true, "invalid_blocks": true, "invalid_blocks_format": true, "too_many_attachments": true,
	"message_not_found": true, "cant_update_message": true, "edit_window_closed": true,
	"restricted_action": true, "invalid_arguments": true, "invalid_metadata_format": true,
	"invalid_metadata_schema": true, "metadata_too_large": true, "user_not_in_channel": true,
	"not_allowed_token_type": true, "ekm_access_denied": true, "team_access_not_granted": true,
	"channel_is_archived": true, "as_user_not_supported": true, "method_deprecated": true,
	"file_uploads_disabled": true, "file_uploads_except_images_disabled": true, "file_not_found": true,
}

// Errors that mean the token itself is wrong: Slack is degraded until fixed.
var authErrors = map[string]bool{
	"invalid_auth": true, "not_authed": true, "account_inactive": true, "token_revoked": true,
	"token_expired": true, "no_permission": true, "missing_scope": true, "org_login_required": true,
}

// classify names the operation and sorts a failure for the caller's retry
// loop: wait as told, never retry, or retry with backoff.
func (a *Adapter) classify(op string, err error) error {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return &chat.RetryAfterError{After: rl.RetryAfter, Err: fmt.Errorf("%s: %w", op, err)}
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		if sc.Code == http.StatusTooManyRequests || sc.Code >= 500 {
			return fmt.Errorf("%s: %w", op, err)
		}
		if sc.Code == http.StatusUnauthorized || sc.Code == http.StatusForbidden {
			a.problem("api", op+": "+sc.Status)
		}
		return chat.Permanent(fmt.Errorf("%s: %w", op, err))
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		switch {
		case se.Err == "ratelimited":
			return &chat.RetryAfterError{After: time.Second, Err: fmt.Errorf("%s: %w", op, err)}
		case authErrors[se.Err]:
			a.problem("api", op+": "+se.Err)
			return chat.Permanent(fmt.Errorf("%s: %w", op, err))
		case permanentErrors[se.Err]:
			return chat.Permanent(fmt.Errorf("%s: %w", op, err))
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}
