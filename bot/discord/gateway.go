package discord

import (
	"context"
	"errors"
	"fmt"

	"github.com/bwmarrin/discordgo"
)

// gatewayLoop keeps a Gateway session open (an outbound connection, for
// deployments without a public URL). discordgo reconnects a session that
// drops; we retry only the first connection, with backoff.
func (a *Adapter) gatewayLoop(ctx context.Context) {
	bo := a.newBackoff()
	for ctx.Err() == nil {
		s, err := a.openGateway(ctx)
		if err == nil {
			a.setHealth("gateway", nil)
			<-ctx.Done()
			// Close before anything else goes: the session must not try to
			// reconnect to a server that is being shut down.
			if err := s.Close(); err != nil {
				a.log.Debug("discord gateway close", "err", err)
			}
			return
		}
		a.setHealth("gateway", err)
		if !sleepCtx(ctx, bo.NextBackOff()) {
			return
		}
	}
}

func (a *Adapter) openGateway(ctx context.Context) (*discordgo.Session, error) {
	token := a.cfg().Secrets.DiscordBotToken.Reveal()
	if token == "" {
		return nil, errors.New("no DISCORD_BOT_TOKEN configured")
	}
	s := a.newSession(token)
	s.AddHandler(func(s *discordgo.Session, ic *discordgo.InteractionCreate) {
		if ic.Interaction == nil {
			return
		}
		a.onGatewayInteraction(ctx, s, ic.Interaction)
	})
	s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Disconnect) {
		if ctx.Err() == nil {
			a.setHealth("gateway", errors.New("disconnected; reconnecting"))
		}
	})
	s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Resumed) { a.setHealth("gateway", nil) })
	s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Ready) { a.setHealth("gateway", nil) })
	if err := s.Open(); err != nil {
		return nil, fmt.Errorf("open discord gateway: %w", err)
	}
	return s, nil
}

// onGatewayInteraction answers an INTERACTION_CREATE: the initial response
// goes by the REST callback, and only after it succeeded may the answer
// edit @original.
func (a *Adapter) onGatewayInteraction(ctx context.Context, s *discordgo.Session, in *discordgo.Interaction) {
	if in.Type == discordgo.InteractionPing {
		return
	}
	resp, later := a.dispatch(in)
	err := s.InteractionRespond(in, resp, restOpts(ctx)...)
	if err != nil {
		a.log.Error("discord interaction response failed", "interaction", in.ID, "err", err)
	}
	if later != nil {
		delivered := err == nil
		if !a.goWork(func() { later(delivered) }) {
			later(false)
		}
	}
}
