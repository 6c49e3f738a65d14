package notifier_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"opsbot/chat"
)

// clock is an injected time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// platform is a small chat platform: channels of messages with ids,
// in-place edits, threads, idempotency keys found again by FindByKey, and a
// per-channel rate limit answered with retry-after (Slack's ~1 msg/s).
type platform struct {
	mu    sync.Mutex
	now   func() time.Time
	gap   time.Duration // minimum time between writes to one channel; 0 = none
	last  map[string]time.Time
	seq   int
	msgs  []*fmsg
	byID  map[string]*fmsg
	limit int // 429s answered
	// fail, when set, may refuse a call before it lands.
	fail func(op, channel string) error
	// afterPost, when set, runs after a post landed and before the answer.
	afterPost func(m *fmsg) error
}

type fmsg struct {
	ID, Channel, Thread, Key string
	Versions                 []chat.Message
}

func (m *fmsg) Last() chat.Message { return m.Versions[len(m.Versions)-1] }

func newPlatform(now func() time.Time) *platform {
	return &platform{now: now, last: map[string]time.Time{}, byID: map[string]*fmsg{}}
}

func (p *platform) admit(op, channel string) error {
	if p.fail != nil {
		if err := p.fail(op, channel); err != nil {
			return err
		}
	}
	if p.gap > 0 {
		now := p.now()
		if l, ok := p.last[channel]; ok && now.Sub(l) < p.gap {
			p.limit++
			return &chat.RetryAfterError{After: p.gap - now.Sub(l), Err: errors.New("rate limited")}
		}
		p.last[channel] = now
	}
	return nil
}

func (p *platform) Post(ctx context.Context, channel string, m chat.Message) (chat.Ref, error) {
	p.mu.Lock()
	if err := p.admit("post", channel); err != nil {
		p.mu.Unlock()
		return chat.Ref{}, err
	}
	p.seq++
	fm := &fmsg{ID: strconv.Itoa(p.seq), Channel: channel, Key: m.Key, Versions: []chat.Message{m}}
	p.msgs = append(p.msgs, fm)
	p.byID[fm.ID] = fm
	after := p.afterPost
	p.mu.Unlock()
	if after != nil {
		if err := after(fm); err != nil {
			return chat.Ref{}, err
		}
	}
	return chat.Ref{Platform: "fake", Channel: channel, ID: fm.ID}, nil
}

func (p *platform) Update(ctx context.Context, ref chat.Ref, m chat.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	fm := p.byID[ref.ID]
	if fm == nil || fm.Channel != ref.Channel {
		return chat.Permanent(fmt.Errorf("message %s not found", ref.ID))
	}
	if err := p.admit("update", ref.Channel); err != nil {
		return err
	}
	fm.Versions = append(fm.Versions, m)
	return nil
}

func (p *platform) Reply(ctx context.Context, parent chat.Ref, m chat.Message) (chat.Ref, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byID[parent.ID] == nil {
		return chat.Ref{}, chat.Permanent(fmt.Errorf("thread %s not found", parent.ID))
	}
	if err := p.admit("reply", parent.Channel); err != nil {
		return chat.Ref{}, err
	}
	p.seq++
	fm := &fmsg{ID: strconv.Itoa(p.seq), Channel: parent.Channel, Thread: parent.ID, Key: m.Key, Versions: []chat.Message{m}}
	p.msgs = append(p.msgs, fm)
	p.byID[fm.ID] = fm
	return chat.Ref{Platform: "fake", Channel: parent.Channel, ID: fm.ID, Thread: parent.ID}, nil
}

// posts returns the top-level messages of channel, oldest first.
func (p *platform) posts(channel string) []*fmsg {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*fmsg
	for _, m := range p.msgs {
		if m.Channel == channel && m.Thread == "" {
			out = append(out, m)
		}
	}
	return out
}

// thread returns the replies under message id.
func (p *platform) thread(id string) []*fmsg {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*fmsg
	for _, m := range p.msgs {
		if m.Thread == id {
			out = append(out, m)
		}
	}
	return out
}

func (p *platform) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.msgs)
}

// finder is the platform with message lookup by idempotency key (Slack
// metadata in channel history).
type finder struct{ *platform }

func (f finder) FindByKey(ctx context.Context, channel, key string) (chat.Ref, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.msgs {
		if m.Channel == channel && m.Key == key {
			return chat.Ref{Platform: "fake", Channel: channel, ID: m.ID, Thread: m.Thread}, true, nil
		}
	}
	return chat.Ref{}, false, nil
}

func text(m chat.Message) string {
	var b strings.Builder
	b.WriteString(string(m.Severity) + "|" + m.Title + "|" + m.Text)
	for _, f := range m.Fields {
		b.WriteString("|" + f.Name + "=" + f.Value)
	}
	b.WriteString("|" + m.Context)
	for _, bt := range m.Buttons {
		b.WriteString("|[" + bt.ID + ":" + bt.Value + "]")
	}
	if len(m.Mentions) > 0 {
		b.WriteString("|@" + strings.Join(m.Mentions, ","))
	}
	return b.String()
}
