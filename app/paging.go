package app

import (
	"context"

	"opsbot/alert"
	"opsbot/chat"
	"opsbot/notifier"
	"opsbot/paging"
	oncallverbs "opsbot/verbs/oncall"
)

// wirePaging makes the escalation engine (run on the leader, see wire),
// installs the page integrations as the "page" platform of the router, so
// pages go through the notifier's outbox and delivery lanes, and
// registers the oncall verb.
func (a *App) wirePaging(n *notifier.Notifier) *paging.Engine {
	pg := paging.New(a.store, n, a.Config, a.log)
	a.router.Set("page", paging.NewIntegrations(a.Config))
	// Direct messages: the platforms that can open one install themselves
	// below (pg.DMs.Set).
	pg.DMs = paging.NewDMs()
	a.router.Set("dm", pg.DMs)
	// An announced or resolved alert is looked at at once, not at the next poll.
	n.OnAlert(func(context.Context, alert.Alert) { pg.Poke() })
	// PagerDuty's own acknowledgements (its webhook v3) acknowledge the alert.
	a.routes["/webhooks/pagerduty"] = pg.PagerDutyWebhook(n)
	a.reg.MustRegister(oncallverbs.Verbs(oncallverbs.Deps{Paging: pg})...)
	return pg
}

// setDMs installs a platform's DM side when its poster can open DMs.
func setDMs(pg *paging.Engine, platform string, p chat.Poster) {
	if dp, ok := p.(paging.DMOpener); ok {
		pg.DMs.Set(platform, dp)
	}
}
