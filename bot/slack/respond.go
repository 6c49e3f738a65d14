package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"opsbot/chat"
	"opsbot/commands"
)

// Slack lets a response_url be used five times within thirty minutes.
const (
	responseURLUses = 5
	responseURLTTL  = 30 * time.Minute
)

// target is where the answers to one slash command or click go: its
// response_url while uses remain, then the channel through the Web API.
type target struct {
	a       *Adapter
	url     string
	channel string
	user    string
	// message is the message a click came from, for chat.update when the
	// response_url is spent.
	message chat.Ref
	// click targets answer a button: progress replaces the message the
	// button was on rather than the requester's "working…" note.
	click   bool
	created time.Time

	mu           sync.Mutex
	uses         int
	lastProgress time.Time
}

func (a *Adapter) newTarget(responseURL, channel, user string) *target {
	return &target{a: a, url: responseURL, channel: channel, user: user, created: a.now()}
}

// take reserves one use of the response_url; progress leaves the last use
// for the final answer.
func (t *target) take(final bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.url == "" || t.a.now().Sub(t.created) >= responseURLTTL {
		return false
	}
	limit := responseURLUses
	if !final {
		limit--
	}
	if t.uses >= limit {
		return false
	}
	t.uses++
	return true
}

// takeSpare reserves a use of the response_url only when one is still
// left after it for the final answer.
func (t *target) takeSpare() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.url == "" || t.a.now().Sub(t.created) >= responseURLTTL || t.uses >= responseURLUses-1 {
		return false
	}
	t.uses++
	return true
}

func ptr[T any](v T) *T { return &v }

// send posts one message to the response_url.
func (t *target) send(ctx context.Context, w wireMessage) error {
	body, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("slack response_url: encode: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("slack response_url: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := t.a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("slack response_url: %w", err)
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("slack response_url: %s: %s", res.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// progress shows progress of slow work in place of the "working…" note,
// at most once per progress interval and never taking the last use.
func (t *target) progress(m chat.Message) {
	now := t.a.now()
	t.mu.Lock()
	if !t.lastProgress.IsZero() && now.Sub(t.lastProgress) < t.a.progressEvery {
		t.mu.Unlock()
		return
	}
	t.lastProgress = now
	t.mu.Unlock()
	if !t.take(false) {
		return
	}
	m.Text = ":hourglass_flowing_sand: " + m.Text
	w := Render(m).wire()
	w.ReplaceOriginal = ptr(true)
	if !t.click {
		w.ResponseType = slack.ResponseTypeEphemeral
	}
	if err := t.send(t.a.bg, w); err != nil {
		t.a.log.Warn("slack progress not shown", "err", err)
	}
}

// answer delivers a command's final response: through the response_url
// while it has uses left, else posted to the channel (ephemeral answers
// to the user alone). replaceWorking lets an ephemeral answer take the place
// of the ephemeral "working…" note.
func (t *target) answer(ctx context.Context, resp commands.Response, replaceWorking bool) {
	ctx, cancel := lastWords(ctx)
	defer cancel()
	resp = privateFiles(t.filesToDM(ctx, longToFile(resp)))
	w := Render(resp.Message).wire()
	w.ResponseType = responseType(resp)
	// An ephemeral answer (an error among them) takes the place of the
	// "working…" note; a refused click leaves its message as it was.
	w.ReplaceOriginal = ptr(replaceWorking && resp.Ephemeral)
	if replaceWorking && !resp.Ephemeral && t.takeSpare() {
		// A public answer cannot replace a private note: the note goes.
		if err := t.send(ctx, wireMessage{DeleteOriginal: true}); err != nil {
			t.a.log.Debug("slack working note not deleted", "err", err)
		}
	}
	if t.take(true) {
		err := t.send(ctx, w)
		if err == nil {
			t.files(ctx, resp)
			return
		}
		t.a.log.Warn("slack answer not delivered through response_url; posting to the channel", "err", err)
	}
	t.toChannel(ctx, resp)
}

// files uploads an answer's files to the channel once the answer is out:
// a response_url message or an edit carries none. (Posts to the channel
// upload their own.) Ephemeral answers keep theirs to themselves.
func (t *target) files(ctx context.Context, resp commands.Response) {
	if len(resp.Files) == 0 || resp.Ephemeral {
		return
	}
	if t.channel == "" {
		t.a.log.Error("slack files not uploaded: no channel", "files", len(resp.Files))
		return
	}
	for _, f := range resp.Files {
		t.a.Poster().sendFile(ctx, t.channel, "", f)
	}
}

// replace puts a click's result in place of the message the button was on.
func (t *target) replace(ctx context.Context, resp commands.Response) {
	ctx, cancel := lastWords(ctx)
	defer cancel()
	resp = longToFile(resp)
	w := Render(resp.Message).wire()
	w.ReplaceOriginal = ptr(true)
	if t.take(true) {
		err := t.send(ctx, w)
		if err == nil {
			t.files(ctx, resp)
			return
		}
		t.a.log.Warn("slack message not replaced through response_url; using chat.update", "err", err)
	}
	if !t.message.IsZero() {
		if err := t.a.Poster().Update(ctx, t.message, resp.Message); err == nil {
			t.files(ctx, resp)
			return
		} else {
			t.a.log.Warn("slack message not updated", "err", err)
		}
	}
	t.toChannel(ctx, resp)
}

func (t *target) toChannel(ctx context.Context, resp commands.Response) {
	if t.channel == "" {
		t.a.log.Error("slack answer lost: no response_url use and no channel")
		return
	}
	if resp.Ephemeral && t.user != "" {
		r := Render(privateFiles(resp).Message)
		err := retryReply(ctx, func() error {
			_, err := t.a.api().PostEphemeralContext(ctx, t.channel, t.user, r.options()...)
			if err != nil {
				return t.a.classify("slack chat.postEphemeral", err)
			}
			return nil
		})
		if err != nil {
			t.a.log.Error("slack ephemeral answer not delivered", "channel", t.channel, "err", err)
		}
		return
	}
	err := retryReply(ctx, func() error {
		_, err := t.a.Poster().Post(ctx, t.channel, resp.Message)
		return err
	})
	if err != nil {
		t.a.log.Error("slack answer not delivered", "channel", t.channel, "err", err)
	}
}

// retryReply makes a few attempts at a command answer posted to the
// channel. Alerts retry through the notifier's outbox; an answer has no
// outbox, so this bounded loop is its only retry.
func retryReply(ctx context.Context, attempt func() error) error {
	var err error
	for i := range 3 {
		if err = attempt(); err == nil || errors.Is(err, chat.ErrPermanent) {
			return err
		}
		d := time.Duration(1<<i) * time.Second
		if ra, ok := chat.RetryAfter(err); ok {
			if ra > 30*time.Second {
				return err
			}
			d = ra
		}
		if i < 2 && !sleep(ctx, d) {
			return err
		}
	}
	return err
}

// lastWords gives an answer a short while to go out when the adapter is
// shutting down, so a user whose command was interrupted hears of it.
func lastWords(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
}

// privateFiles says, in a reply only its requester sees, that its files
// are left out: Slack shows no file in an ephemeral message, and uploading
// one would show it to the channel.
func privateFiles(resp commands.Response) commands.Response {
	if !resp.Ephemeral || len(resp.Files) == 0 {
		return resp
	}
	note := "the attachment is left out of a reply only you can see: run it again with --public to post it in the channel"
	if len(resp.Files) > 1 {
		note = fmt.Sprintf("%d attachments are left out of a reply only you can see: run it again with --public to post them in the channel", len(resp.Files))
	}
	if resp.Context != "" {
		note = resp.Context + " · " + note
	}
	resp.Context = note
	resp.Files = nil
	return resp
}

func responseType(resp commands.Response) string {
	if resp.Ephemeral {
		return slack.ResponseTypeEphemeral
	}
	return slack.ResponseTypeInChannel
}

// working is the immediate answer to slow work.
func working(text string) wireMessage {
	return wireMessage{ResponseType: slack.ResponseTypeEphemeral, Text: ":hourglass_flowing_sand: working on `/ops " + escape(clip(text, 200)) + "`…"}
}
