package discord

import (
	"context"
	"errors"
	"time"

	"opsbot/chat"
)

var _ chat.ThreadFinder = (*Poster)(nil)

// FindReplyByKey looks for a reply carrying key in parent's thread, a
// channel of its own whose id is the parent message's: its history is
// scanned over the window as FindByKeyBetween scans a channel's.
func (p *Poster) FindReplyByKey(ctx context.Context, parent chat.Ref, key string, from, to time.Time) (chat.Ref, bool, error) {
	thread := parent.Thread
	if thread == "" {
		thread = parent.ID
	}
	if thread == "" {
		return chat.Ref{}, false, chat.Permanent(errors.New("find discord reply: empty parent reference"))
	}
	ref, found, err := p.FindByKeyBetween(ctx, thread, key, from, to)
	if codeOf(err) == codeUnknownChannel {
		// No thread was started, so no reply went into it.
		return chat.Ref{}, false, nil
	}
	if err != nil || !found {
		return chat.Ref{}, false, err
	}
	return chat.Ref{Platform: Platform, Channel: parent.Channel, ID: ref.ID, Thread: thread}, true, nil
}
