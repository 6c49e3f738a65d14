package paging

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"opsbot/chat"
)

// DMOpener is a chat platform's poster that can open a direct-message
// channel with a user (Slack conversations.open).
type DMOpener interface {
	chat.Poster
	OpenDM(ctx context.Context, user string) (string, error)
}

// DMs is the chat.Poster of the "dm" platform: an outbox row addressed
// "dm:<platform>/<user id>" is posted in the DM channel the platform opens
// for the user, so a DM page is delivered, retried and parked like any other
// notification. Refs it returns name "<platform>/<DM channel>" so the
// Acknowledge button's edit finds its way back.
type DMs struct {
	mu        sync.RWMutex
	platforms map[string]DMOpener
}

var _ chat.Poster = (*DMs)(nil)

// NewDMs makes the poster of the "dm" platform; Set installs platforms.
func NewDMs() *DMs { return &DMs{platforms: map[string]DMOpener{}} }

// Set installs the DM side of a platform.
func (d *DMs) Set(platform string, p DMOpener) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.platforms[platform] = p
}

// Has reports whether platform can send DMs.
func (d *DMs) Has(platform string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.platforms[platform] != nil
}

func (d *DMs) platform(addr string) (DMOpener, string, string, error) {
	platform, id, ok := strings.Cut(addr, "/")
	d.mu.RLock()
	p := d.platforms[platform]
	d.mu.RUnlock()
	if !ok || id == "" || p == nil {
		return nil, "", "", chat.Permanent(fmt.Errorf("no direct messages on %q", addr))
	}
	return p, platform, id, nil
}

// Post opens the DM channel with the user and posts m there.
func (d *DMs) Post(ctx context.Context, channel string, m chat.Message) (chat.Ref, error) {
	p, platform, user, err := d.platform(channel)
	if err != nil {
		return chat.Ref{}, err
	}
	dm, err := p.OpenDM(ctx, user)
	if err != nil {
		return chat.Ref{}, err
	}
	ref, err := p.Post(ctx, dm, m)
	ref.Channel = platform + "/" + ref.Channel
	return ref, err
}

func (d *DMs) inner(ref chat.Ref) (DMOpener, chat.Ref, error) {
	p, platform, ch, err := d.platform(ref.Channel)
	if err != nil {
		return nil, ref, err
	}
	ref.Platform, ref.Channel = platform, ch
	return p, ref, nil
}

// Update edits a DM.
func (d *DMs) Update(ctx context.Context, ref chat.Ref, m chat.Message) error {
	p, in, err := d.inner(ref)
	if err != nil {
		return err
	}
	return p.Update(ctx, in, m)
}

// Reply answers in a DM's thread.
func (d *DMs) Reply(ctx context.Context, parent chat.Ref, m chat.Message) (chat.Ref, error) {
	p, in, err := d.inner(parent)
	if err != nil {
		return chat.Ref{}, err
	}
	ref, err := p.Reply(ctx, in, m)
	ref.Channel = strings.SplitN(parent.Channel, "/", 2)[0] + "/" + ref.Channel
	return ref, err
}
