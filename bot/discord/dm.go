package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/bwmarrin/discordgo"

	"opsbot/chat"
)

// OpenDM opens (or finds) the DM channel with a user (POST
// /users/@me/channels) and returns its id, for a page sent as a DM.
func (p *Poster) OpenDM(ctx context.Context, user string) (string, error) {
	s, err := p.a.session()
	if err != nil {
		return "", chat.Permanent(err)
	}
	endpoint := discordgo.EndpointUserChannels("@me")
	raw, err := p.call(ctx, s, "POST", endpoint, endpoint, chat.Message{}, func(rendered) any { return map[string]string{"recipient_id": user} })
	if err != nil {
		return "", fmt.Errorf("open discord DM: %w", err)
	}
	var ch discordgo.Channel
	if err := json.Unmarshal(raw, &ch); err != nil || ch.ID == "" {
		return "", fmt.Errorf("open discord DM: %w", errors.Join(err, errors.New("no channel id")))
	}
	return ch.ID, nil
}
