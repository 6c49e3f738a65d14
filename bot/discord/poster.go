package discord

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"opsbot/chat"
)

// maxBucketWait is the longest wait for a rate-limit bucket we leave to
// discordgo; longer waits are handed back to the caller as RetryAfterError.
const maxBucketWait = time.Second

// maxNonce is Discord's limit on a message nonce.
const maxNonce = 25

// Poster posts to Discord channels. Each call makes one attempt and
// classifies a failure (chat.RetryAfterError, chat.ErrPermanent); the
// caller's delivery worker waits and retries.
type Poster struct{ a *Adapter }

var _ chat.Poster = (*Poster)(nil)

// Poster returns the adapter's chat.Poster.
func (a *Adapter) Poster() chat.Poster { return &Poster{a: a} }

// messageSend adds what discordgo v0.29's MessageSend lacks: the nonce
// with enforce_nonce, which makes Discord return the earlier message
// instead of posting a resend twice.
type messageSend struct {
	Content         string                            `json:"content,omitempty"`
	Embeds          []*discordgo.MessageEmbed         `json:"embeds,omitempty"`
	Components      []discordgo.MessageComponent      `json:"components,omitempty"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions,omitempty"`
	Nonce           string                            `json:"nonce,omitempty"`
	EnforceNonce    bool                              `json:"enforce_nonce,omitempty"`
}

// messageEdit replaces a message's whole body, attachments included.
type messageEdit struct {
	Content         string                            `json:"content"`
	Embeds          []*discordgo.MessageEmbed         `json:"embeds"`
	Components      []discordgo.MessageComponent      `json:"components"`
	AllowedMentions *discordgo.MessageAllowedMentions `json:"allowed_mentions,omitempty"`
	Attachments     []*discordgo.MessageAttachment    `json:"attachments"`
}

// nonce fits an idempotency key into Discord's 25 characters.
func nonce(key string) string {
	if key == "" || len(key) <= maxNonce {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "k" + hex.EncodeToString(sum[:])[:maxNonce-1]
}

// Post sends m to a channel (or thread) id.
func (p *Poster) Post(ctx context.Context, channel string, m chat.Message) (chat.Ref, error) {
	id, err := p.send(ctx, channel, m)
	if err != nil {
		return chat.Ref{}, fmt.Errorf("post discord message to %s: %w", channel, err)
	}
	return chat.Ref{Platform: Platform, Channel: channel, ID: id}, nil
}

func (p *Poster) send(ctx context.Context, channel string, m chat.Message) (string, error) {
	s, err := p.a.session()
	if err != nil {
		return "", chat.Permanent(err)
	}
	if channel == "" {
		return "", chat.Permanent(errors.New("no channel"))
	}
	// A new message leaves out what it does not have: no empty arrays.
	build := func(r rendered) any {
		return messageSend{Content: r.Content, Embeds: r.Embeds, Components: r.Components, AllowedMentions: r.Mentions,
			Nonce: nonce(m.Key), EnforceNonce: m.Key != ""}
	}
	endpoint := discordgo.EndpointChannelMessages(channel)
	raw, err := p.call(ctx, s, "POST", endpoint, endpoint, m, build)
	if err != nil {
		return "", err
	}
	var msg discordgo.Message
	if err := json.Unmarshal(raw, &msg); err != nil || msg.ID == "" {
		return "", fmt.Errorf("read posted message: %w", errors.Join(err, errors.New("no message id")))
	}
	return msg.ID, nil
}

// call makes one request, after checking the route's rate-limit bucket:
// a long wait is the caller's to do, not a goroutine asleep in discordgo.
// Files go as multipart files[n]; when they are too large, or Discord
// refuses them, the message goes without them, saying so and showing
// their start inline: never "attached" without a file.
func (p *Poster) call(ctx context.Context, s *discordgo.Session, method, endpoint, bucket string, m chat.Message, build func(rendered) any) ([]byte, error) {
	if w := bucketWait(s, bucket); w > maxBucketWait {
		return nil, &chat.RetryAfterError{After: w, Err: errors.New("rate-limit bucket exhausted")}
	}
	r := render(m)
	if len(r.Files) == 0 {
		raw, err := s.RequestWithBucketID(method, endpoint, build(r), bucket, restOpts(ctx)...)
		return raw, classify(err)
	}
	if r.uploadSize() > maxUpload {
		r = withoutFiles(m, msgTooLarge)
		raw, err := s.RequestWithBucketID(method, endpoint, build(r), bucket, restOpts(ctx)...)
		return raw, classify(err)
	}
	ct, b, err := discordgo.MultipartBodyWithJSON(build(r), r.files())
	if err != nil {
		return nil, chat.Permanent(err)
	}
	raw, err := s.RequestRaw(method, endpoint, ct, b, bucket, 0, restOpts(ctx)...)
	if err != nil && uploadRefused(err) {
		p.a.log.Warn("discord refused the attachments; sending without them", "err", err)
		raw, err = s.RequestWithBucketID(method, endpoint, build(withoutFiles(m, msgRefused)), bucket, restOpts(ctx)...)
	}
	return raw, classify(err)
}

// uploadRefused reports whether Discord refused a request for its files:
// too large (413, code 40005) or an attachment it could not take.
func uploadRefused(err error) bool {
	return statusOf(err) == http.StatusRequestEntityTooLarge || codeOf(err) == codeEntityTooLarge || codeOf(err) == codeInvalidForm
}

func bucketWait(s *discordgo.Session, key string) time.Duration {
	b := s.Ratelimiter.GetBucket(key)
	b.Lock()
	defer b.Unlock()
	return s.Ratelimiter.GetWaitTime(b, 1)
}

// Update edits a posted message in place (a reply lives in its thread).
func (p *Poster) Update(ctx context.Context, ref chat.Ref, m chat.Message) error {
	s, err := p.a.session()
	if err != nil {
		return fmt.Errorf("update discord message: %w", chat.Permanent(err))
	}
	channel := ref.Channel
	if ref.Thread != "" && ref.Thread != ref.ID {
		channel = ref.Thread
	}
	// An edit replaces the whole body: empty arrays here mean "remove"
	// (old buttons, embeds and files go), and the new files are listed.
	build := func(r rendered) any {
		return messageEdit{Content: r.Content, Embeds: nonNilEmbeds(r.Embeds), Components: nonNilComponents(r.Components),
			AllowedMentions: r.Mentions, Attachments: r.newAttachments()}
	}
	if _, err := p.call(ctx, s, "PATCH", discordgo.EndpointChannelMessage(channel, ref.ID), discordgo.EndpointChannelMessage(channel, ""), m, build); err != nil {
		return fmt.Errorf("update discord message %s in %s: %w", ref.ID, channel, err)
	}
	return nil
}

// Reply posts m in the thread of parent, starting the thread from the
// parent message when needed (its id is the parent's id). A retried Reply
// finds the thread already there and goes on.
func (p *Poster) Reply(ctx context.Context, parent chat.Ref, m chat.Message) (chat.Ref, error) {
	if parent.ID == "" {
		return chat.Ref{}, fmt.Errorf("reply on discord: %w", chat.Permanent(errors.New("no parent message")))
	}
	thread := parent.Thread
	if thread == "" {
		if err := p.startThread(ctx, parent, m); err != nil {
			return chat.Ref{}, fmt.Errorf("start discord thread on %s: %w", parent.ID, err)
		}
		thread = parent.ID
	}
	id, err := p.send(ctx, thread, m)
	if err != nil {
		return chat.Ref{}, fmt.Errorf("reply in discord thread %s: %w", thread, err)
	}
	return chat.Ref{Platform: Platform, Channel: parent.Channel, ID: id, Thread: thread}, nil
}

func (p *Poster) startThread(ctx context.Context, parent chat.Ref, m chat.Message) error {
	if p.a.threads.Contains(parent.ID) {
		return nil
	}
	s, err := p.a.session()
	if err != nil {
		return chat.Permanent(err)
	}
	archive := p.a.cfg().Discord.Archive
	switch archive {
	case 60, 1440, 4320, 10080:
	default:
		archive = 1440
	}
	endpoint := discordgo.EndpointChannelMessageThread(parent.Channel, parent.ID)
	if w := bucketWait(s, endpoint); w > maxBucketWait {
		return &chat.RetryAfterError{After: w, Err: errors.New("rate-limit bucket exhausted")}
	}
	name := threadName(m)
	// Named after the message it hangs off ("Incident 4: API down") when
	// that can be read; else after the first reply.
	if pm, err := s.ChannelMessage(parent.Channel, parent.ID, restOpts(ctx)...); err == nil {
		if n := parentName(pm); n != "" {
			name = n
		}
	}
	_, err = s.MessageThreadStartComplex(parent.Channel, parent.ID, &discordgo.ThreadStart{Name: name, AutoArchiveDuration: archive}, restOpts(ctx)...)
	if err != nil && codeOf(err) != codeThreadExists {
		return classify(err)
	}
	p.a.threads.Add(parent.ID, struct{}{})
	return nil
}

// threadName names a thread after a message's title or first line.
func threadName(m chat.Message) string {
	name := strings.TrimSpace(m.Title)
	if name == "" {
		name = strings.TrimSpace(strings.SplitN(m.Text, "\n", 2)[0])
	}
	if name == "" {
		name = "opsbot"
	}
	return shortName(name)
}

func parentName(m *discordgo.Message) string {
	name := ""
	if len(m.Embeds) > 0 {
		name = strings.TrimSpace(m.Embeds[0].Title)
	}
	if name == "" {
		name = strings.TrimSpace(strings.SplitN(m.Content, "\n", 2)[0])
	}
	if name == "" {
		return ""
	}
	return shortName(name)
}

// shortName fits Discord's 100-character thread names.
func shortName(name string) string { return cut(name, 100) }

func nonNilEmbeds(e []*discordgo.MessageEmbed) []*discordgo.MessageEmbed {
	if e == nil {
		return []*discordgo.MessageEmbed{}
	}
	return e
}

func nonNilComponents(c []discordgo.MessageComponent) []discordgo.MessageComponent {
	if c == nil {
		return []discordgo.MessageComponent{}
	}
	return c
}

// History is scanned a page at a time, no further than maxHistoryPages:
// a resend after a crash concerns the row's own few minutes.
const (
	historyPage     = 100
	maxHistoryPages = 20
	findWindow      = 24 * time.Hour
	discordEpochMS  = 1420070400000
)

var (
	_ chat.Finder       = (*Poster)(nil)
	_ chat.WindowFinder = (*Poster)(nil)
)

// FindByKey looks for a message of the last day carrying key.
func (p *Poster) FindByKey(ctx context.Context, channel, key string) (chat.Ref, bool, error) {
	now := p.a.now()
	return p.FindByKeyBetween(ctx, channel, key, now.Add(-findWindow), now.Add(time.Minute))
}

// FindByKeyBetween scans the channel's messages posted between from and to
// (message ids are timestamps) for one carrying key in its footer or
// subtext line: the nonce only deduplicates sends, history does not
// return it.
func (p *Poster) FindByKeyBetween(ctx context.Context, channel, key string, from, to time.Time) (chat.Ref, bool, error) {
	s, err := p.a.session()
	if err != nil {
		return chat.Ref{}, false, chat.Permanent(err)
	}
	after := snowflakeAt(from)
	end := snowflakeAt(to)
	for range maxHistoryPages {
		msgs, err := s.ChannelMessages(channel, historyPage, "", strconv.FormatUint(after, 10), "", restOpts(ctx)...)
		if err != nil {
			return chat.Ref{}, false, fmt.Errorf("read discord history of %s: %w", channel, classify(err))
		}
		last := after
		for _, m := range msgs {
			if keyOf(m) == key {
				return chat.Ref{Platform: Platform, Channel: channel, ID: m.ID}, true, nil
			}
			if id, err := strconv.ParseUint(m.ID, 10, 64); err == nil && id > last {
				last = id
			}
		}
		if len(msgs) < historyPage || last >= end || last == after {
			return chat.Ref{}, false, nil
		}
		after = last
	}
	return chat.Ref{}, false, fmt.Errorf("read discord history of %s: key %s not within %d pages", channel, key, maxHistoryPages)
}

// snowflakeAt is the smallest message id Discord gives at t.
func snowflakeAt(t time.Time) uint64 {
	ms := t.UnixMilli() - discordEpochMS
	if ms < 0 {
		return 0
	}
	return uint64(ms) << 22
}
