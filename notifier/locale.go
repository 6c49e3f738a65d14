package notifier

import (
	"context"

	"opsbot/locale"
	"opsbot/store"
)

// printer is the language and time zone of channel: its own choice (/ops
// locale) when it made one, else the configured locale. A store error
// falls back to the configured locale: a message in the wrong language
// beats no message.
func (n *Notifier) printer(ctx context.Context, q store.DBTX, channel string) locale.Printer {
	cfg := n.cfg()
	chosen := ""
	if channel != "" {
		if l, err := store.ChannelLocale(ctx, q, channel); err == nil {
			chosen = l
		} else {
			n.log.Warn("channel locale", "channel", channel, "err", err)
		}
	}
	return locale.Resolve(cfg.Locale, chosen, cfg.Display.Timezone)
}

// channelOf is the channel of outbox message id ("" when unknown).
func channelOf(ctx context.Context, q store.DBTX, id int64) string {
	row, err := store.OutboxByID(ctx, q, id)
	if err != nil {
		return ""
	}
	return row.Channel
}
