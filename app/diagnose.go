package app

import (
	"context"
	"time"

	"opsbot/incidents"
	"opsbot/notifier"
	"opsbot/ops/diagnose"
	"opsbot/rules"
	"opsbot/store"
	diagnoseverbs "opsbot/verbs/diagnose"
)

// wireDiagnose registers the diagnose verb and the Diagnose button, and
// tells the notifier which symptom and runbook each alert has.
func (a *App) wireDiagnose(n *notifier.Notifier, inc *incidents.Service, eng *rules.Engine) {
	g := diagnose.New(diagnose.Deps{Config: a.Config, Samples: a.store, Restarts: restartsOf(a.store), Log: a.log})
	d := diagnoseverbs.Deps{Config: a.Config, Diagnoser: g, Alerts: n, SymptomOf: eng.SymptomOf, Reply: n.Reply, Timeline: inc.RecordAction, Redactor: a.reg.Redactor}
	a.reg.MustRegister(diagnoseverbs.Verbs(d)...)
	for id, h := range diagnoseverbs.Buttons(d) {
		a.reg.RegisterButton(id, h)
	}
	n.SetDiagnose(diagnoseverbs.Action, eng.SymptomOf)
}

// restartsOf reads a target's restarts from chat (the audit) and automatic
// ones (remediation attempts).
func restartsOf(st *store.Store) func(ctx context.Context, target string, since time.Time) ([]diagnose.Event, error) {
	return func(ctx context.Context, target string, since time.Time) ([]diagnose.Event, error) {
		rows, err := st.AuditSince(ctx, since)
		if err != nil {
			return nil, err
		}
		var out []diagnose.Event
		for _, r := range rows {
			if r.Verb == "restart" && r.Target == target && (r.Result == "ok" || r.Result == "failed" || r.Result == "error") {
				out = append(out, diagnose.Event{At: r.At.Time, What: "restart", By: r.Platform + ":" + r.UserID, Outcome: r.Result, Detail: r.Detail})
			}
		}
		atts, err := store.LatestRemediationAttempts(ctx, st.DB, target, 20)
		if err != nil {
			return out, err
		}
		for _, x := range atts {
			if x.Action != "restart" || x.State != "done" || x.FinishedAt.Time.Before(since) {
				continue
			}
			oc := "ok"
			if x.Outcome != "cleared" {
				oc = x.Outcome
			}
			out = append(out, diagnose.Event{At: x.FinishedAt.Time, What: "automatic restart", By: "opsbot", Outcome: oc, Detail: x.Text})
		}
		return out, nil
	}
}
