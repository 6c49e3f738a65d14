package paging

import (
	"context"
	"errors"

	"opsbot/chat"
	"opsbot/config"
)

func (p *Integrations) email(ctx context.Context, in config.Integration, secret string, m chat.Message) (string, error) {
	if p.mail == nil {
		return "", chat.Permanent(errNoMail)
	}
	return p.mail(ctx, in, secret, m)
}

var errNoMail = errors.New("e-mail pages are not built yet")
