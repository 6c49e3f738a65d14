package app

import (
	"context"
	"time"

	"opsbot/alert"
)

// reloadFingerprint names the one condition "the configuration file on
// disk was refused": it fires on a refused reload and resolves on the next
// good one, so the team hears of a broken file a SIGHUP met, not only the
// log.
const reloadFingerprint = "config_reload_refused"

// reload reloads the configuration and reports the outcome to the alert
// pipeline (SIGHUP and /ops reload alike).
func (a *App) reload() error {
	err := a.ReloadConfig()
	a.reportReload(err)
	return err
}

// reportReload posts a refused reload as a warning alert (its problems, with
// their lines, are the detail) and resolves it after a reload that applied.
func (a *App) reportReload(err error) {
	if a.reloadSink == nil {
		return
	}
	if err == nil && !a.reloadRefused.Swap(false) {
		return
	}
	now := time.Now()
	al := alert.Alert{Fingerprint: reloadFingerprint, Kind: "health", Rule: "config_reload", Severity: "warning",
		Status: alert.Resolved, Summary: "configuration reloaded: the file on disk is in force again", StartsAt: now, EndsAt: now}
	if err != nil {
		a.reloadRefused.Store(true)
		al.Status, al.EndsAt = alert.Firing, time.Time{}
		al.Summary = "configuration reload refused: the old configuration runs on; fix the file and reload (opsbot config check)"
		al.Detail = err.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if nerr := a.reloadSink.Notify(ctx, al); nerr != nil {
		a.log.Error("reload outcome not reported", "err", nerr)
	}
}
