package app

import (
	localeverbs "opsbot/verbs/locale"
)

// wireLocale registers /ops locale, a channel's choice of language kept in
// the store (the notifier and incidents read it when they render).
func (a *App) wireLocale() {
	a.reg.MustRegister(localeverbs.Verbs(localeverbs.Deps{Config: a.Config, Store: a.store})...)
}
