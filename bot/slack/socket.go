package slack

import (
	"context"
	"log/slog"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// maxAckBytes keeps Socket Mode acks under Slack's 20 KB limit; a larger
// answer goes through response_url.
const maxAckBytes = 19 * 1024

// runSocket keeps a Socket Mode connection until ctx ends. slack-go retries
// a lost connection itself but gives up on a refused token; this loop then
// waits with backoff and starts again.
func (a *Adapter) runSocket(ctx context.Context) {
	b := a.newBackoff()
	for {
		connected, err := a.socketOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if connected {
			b.Reset()
		}
		msg := "socket mode stopped"
		if err != nil {
			msg = "socket mode: " + err.Error()
		}
		a.problem("socket", msg)
		if !sleep(ctx, b.NextBackOff()) {
			return
		}
	}
}

// slogBridge sends slack-go's internal log lines to slog at debug level.
type slogBridge struct{ l *slog.Logger }

func (b slogBridge) Output(_ int, s string) error {
	b.l.Debug("slack-go", "msg", s)
	return nil
}

// socketOnce runs one socketmode client until it stops, answering events.
func (a *Adapter) socketOnce(ctx context.Context) (connected bool, err error) {
	smc := socketmode.New(a.api(),
		socketmode.OptionPingInterval(a.pingInterval),
		socketmode.OptionLog(slogBridge{a.log}),
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- smc.RunContext(ctx) }()
	for {
		select {
		case err := <-errc:
			return connected, err
		case ev := <-smc.Events:
			switch ev.Type {
			case socketmode.EventTypeConnectionError:
				if ce, ok := ev.Data.(*slack.ConnectionErrorEvent); ok && ce.ErrorObj != nil {
					a.problem("socket", "connecting: "+ce.ErrorObj.Error())
				} else {
					a.problem("socket", "connection error")
				}
			case socketmode.EventTypeInvalidAuth:
				a.problem("socket", "app-level token refused")
			case socketmode.EventTypeHello:
				if !connected {
					a.log.Info("slack connected", "mode", "socket")
				}
				connected = true
				a.problem("socket", "")
			case socketmode.EventTypeSlashCommand:
				sc, ok := ev.Data.(slack.SlashCommand)
				if !ok || ev.Request == nil {
					continue
				}
				req := *ev.Request
				a.background(func(context.Context) {
					// The ack carries the answer, or "working…" when it
					// comes later through response_url.
					msg, _ := a.command(sc, maxAckBytes)
					if err := smc.Ack(req, msg); err != nil {
						a.log.Warn("slack socket ack failed", "err", err)
					}
				})
			case socketmode.EventTypeInteractive:
				ic, ok := ev.Data.(slack.InteractionCallback)
				if !ok || ev.Request == nil {
					continue
				}
				if ic.Type == slack.InteractionTypeViewSubmission {
					// The ack closes the form, or shows what is missing.
					var err error
					if ack := a.submitForm(ic); ack != nil {
						err = smc.Ack(*ev.Request, ack)
					} else {
						err = smc.Ack(*ev.Request)
					}
					if err != nil {
						a.log.Warn("slack socket ack failed", "err", err)
					}
					continue
				}
				if err := smc.Ack(*ev.Request); err != nil {
					a.log.Warn("slack socket ack failed", "err", err)
				}
				a.interaction(ic)
			case socketmode.EventTypeErrorBadMessage:
				if bm, ok := ev.Data.(*socketmode.ErrorBadMessage); ok {
					a.log.Warn("slack socket: unreadable message", "err", bm.Cause)
				}
			}
		}
	}
}
