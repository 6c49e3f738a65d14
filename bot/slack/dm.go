package slack

import (
	"context"
	"errors"

	"github.com/slack-go/slack"
)

// OpenDM opens (or finds) the direct-message channel with a user
// (conversations.open) and returns its id, for a page sent as a DM.
func (p *Poster) OpenDM(ctx context.Context, user string) (string, error) {
	ch, _, _, err := p.a.api().OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
	if err != nil {
		return "", p.a.classify("slack conversations.open", err)
	}
	if ch == nil || ch.ID == "" {
		return "", errors.New("slack conversations.open: no channel in the answer")
	}
	return ch.ID, nil
}
