package incidents

import (
	"context"

	"opsbot/locale"
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
