package slack

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"opsbot/chat"
)

var _ chat.ThreadFinder = (*Poster)(nil)

// FindReplyByKey looks for a reply in parent's thread posted between from
// and to carrying key in its metadata: conversations.replies on the
// thread's ts with include_all_metadata, page by page. A channel's history
// holds no thread replies, so FindByKeyBetween cannot see them.
func (p *Poster) FindReplyByKey(ctx context.Context, parent chat.Ref, key string, from, to time.Time) (chat.Ref, bool, error) {
	root := parent.Thread
	if root == "" {
		root = parent.ID
	}
	if parent.Channel == "" || root == "" {
		return chat.Ref{}, false, chat.Permanent(errors.New("slack conversations.replies: empty parent reference"))
	}
	params := &slack.GetConversationRepliesParameters{
		ChannelID: parent.Channel, Timestamp: root, Limit: historyPage, IncludeAllMetadata: true, Inclusive: true,
		Oldest: slackTS(from), Latest: slackTS(to),
	}
	for range maxHistoryPages {
		msgs, more, next, err := p.a.api().GetConversationRepliesContext(ctx, params)
		if err != nil {
			return chat.Ref{}, false, p.a.classify("slack conversations.replies", err)
		}
		for _, m := range msgs {
			if m.Timestamp == root || m.Metadata.EventType != metadataEventType {
				continue
			}
			if k, _ := m.Metadata.EventPayload["key"].(string); k == key {
				return chat.Ref{Platform: "slack", Channel: parent.Channel, ID: m.Timestamp, Thread: root}, true, nil
			}
		}
		if !more || next == "" {
			return chat.Ref{}, false, nil
		}
		params.Cursor = next
	}
	return chat.Ref{}, false, fmt.Errorf("slack conversations.replies: key %s not within %d pages", key, maxHistoryPages)
}
