package chat

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Outbox delivers messages durably: it records them before trying, retries,
// and remembers where each landed under an owner key ("incident:7",
// "alert:42") so later messages can edit it or reply in its thread. The
// notifier implements it; everything that posts on its own initiative
// (alerts, incidents, scheduled jobs) goes through it.
type Outbox interface {
	// Send posts m to channel ("slack:C123") as the first message of owner.
	Send(ctx context.Context, channel, owner string, m Message) error
	// Update edits owner's first message in every channel it was posted to.
	Update(ctx context.Context, owner string, m Message) error
	// Reply posts m in the thread of owner's first message in every channel.
	Reply(ctx context.Context, owner string, m Message) error
}

// Router is a Poster over several platforms: channels are addressed
// "platform:id" ("slack:C123", "discord:987", "console"). It is where
// messages posted on opsbot's own initiative leave (alerts, incident
// threads, anything through the Outbox): each is redacted on the way out.
type Router struct {
	mu       sync.RWMutex
	posters  map[string]Poster
	redactor func() *Redactor
}

var _ Poster = (*Router)(nil)

// NewRouter makes an empty router.
func NewRouter() *Router { return &Router{posters: map[string]Poster{}} }

// Set installs the poster of a platform.
func (r *Router) Set(platform string, p Poster) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.posters[platform] = p
}

// SetRedactor sets the redactor of outgoing messages, asked for each message
// (it follows configuration reloads). Until it is set, or when it returns
// nil, the built-in rules apply.
func (r *Router) SetRedactor(f func() *Redactor) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.redactor = f
}

func (r *Router) redact(m Message) Message {
	r.mu.RLock()
	f := r.redactor
	r.mu.RUnlock()
	var red *Redactor
	if f != nil {
		red = f()
	}
	return red.Message(m)
}

// Platforms lists the installed platforms.
func (r *Router) Platforms() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.posters))
	for k := range r.posters {
		out = append(out, k)
	}
	return out
}

// SplitAddr splits "slack:C123" into ("slack", "C123"); "console" is ("console", "").
func SplitAddr(addr string) (platform, id string) {
	p, id, _ := strings.Cut(addr, ":")
	return p, id
}

func (r *Router) poster(platform string) (Poster, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.posters[platform]
	if !ok {
		return nil, Permanent(fmt.Errorf("no chat platform %q configured", platform))
	}
	return p, nil
}

// Post posts to the platform named in channel.
func (r *Router) Post(ctx context.Context, channel string, m Message) (Ref, error) {
	platform, id := SplitAddr(channel)
	p, err := r.poster(platform)
	if err != nil {
		return Ref{}, err
	}
	ref, err := p.Post(ctx, id, r.redact(m))
	ref.Platform = platform
	return ref, err
}

// Update edits a message on its platform.
func (r *Router) Update(ctx context.Context, ref Ref, m Message) error {
	p, err := r.poster(ref.Platform)
	if err != nil {
		return err
	}
	return p.Update(ctx, ref, r.redact(m))
}

// Reply replies in a thread on its platform.
func (r *Router) Reply(ctx context.Context, parent Ref, m Message) (Ref, error) {
	p, err := r.poster(parent.Platform)
	if err != nil {
		return Ref{}, err
	}
	ref, err := p.Reply(ctx, parent, r.redact(m))
	ref.Platform = parent.Platform
	return ref, err
}

// FindByKey asks the platform's poster, when it can look messages up by key.
func (r *Router) FindByKey(ctx context.Context, channel, key string) (Ref, bool, error) {
	platform, id := SplitAddr(channel)
	p, err := r.poster(platform)
	if err != nil {
		return Ref{}, false, err
	}
	f, ok := p.(Finder)
	if !ok {
		return Ref{}, false, nil
	}
	ref, found, err := f.FindByKey(ctx, id, key)
	ref.Platform = platform
	return ref, found, err
}

// FindByKeyBetween asks the platform's poster to look for key among the
// messages posted between from and to; a poster without windows searches
// its own way (FindByKey).
func (r *Router) FindByKeyBetween(ctx context.Context, channel, key string, from, to time.Time) (Ref, bool, error) {
	platform, id := SplitAddr(channel)
	p, err := r.poster(platform)
	if err != nil {
		return Ref{}, false, err
	}
	wf, ok := p.(WindowFinder)
	if !ok {
		return r.FindByKey(ctx, channel, key)
	}
	ref, found, err := wf.FindByKeyBetween(ctx, id, key, from, to)
	ref.Platform = platform
	return ref, found, err
}
