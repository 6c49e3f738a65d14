package incidents

import (
	"context"

	"opsbot/locale"
	"opsbot/store"
)

// printer is the language and time zone of an incident's channel: its own
// choice (/ops locale) when it made one, else the configured locale.
func (s *Service) printer(ctx context.Context, channel string) locale.Printer {
	cfg := s.cfg()
	chosen := ""
	if channel != "" && s.st != nil {
		if l, err := s.st.ChannelLocale(ctx, channel); err == nil {
			chosen = l
		} else {
			s.log.Warn("channel locale", "channel", channel, "err", err)
		}
	}
	return locale.Resolve(cfg.Locale, chosen, cfg.Display.Timezone)
}

// printerTx is printer read through tx: inside a transaction the store's
// pool must not be used (SQLite has one connection).
func (s *Service) printerTx(ctx context.Context, tx store.DBTX, channel string) locale.Printer {
	cfg := s.cfg()
	chosen := ""
	if channel != "" {
		if l, err := store.ChannelLocale(ctx, tx, channel); err == nil {
			chosen = l
		} else {
			s.log.Warn("channel locale", "channel", channel, "err", err)
		}
	}
	return locale.Resolve(cfg.Locale, chosen, cfg.Display.Timezone)
}
