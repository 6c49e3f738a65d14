// Package paging wakes a human when chat is not enough: it escalates an
// announced alert nobody acknowledges through the steps of its policy
// (mention the on-call in the alert's thread, page them through PagerDuty,
// e-mail or a signed webhook, then the next rotation), stops when the
// alert is acknowledged or resolved and tells the integrations so, and
// announces on-call handoffs.
//
// Escalation state lives in the store. A step is taken in one transaction
// that advances the escalation (guarded by the step it expects), records
// the step (a key forbids a second record) and writes its pages and its
// thread line to the outbox, so a step is taken once across restarts and
// leader changes, and its pages are delivered, retried and parked by the
// notifier's delivery lanes like every other notification. Integrations
// are chat.Posters installed under the "page" platform (see Integrations).
package paging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"opsbot/chat"
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/store"
)

// Outbox is what the engine writes through, inside its own transactions
// (the notifier implements it).
type Outbox interface {
	SendTx(ctx context.Context, tx store.DBTX, channel, owner string, m chat.Message, now time.Time) (int64, error)
	ReplyAlertTx(ctx context.Context, tx store.DBTX, fingerprint string, render func(channel string) chat.Message, now time.Time) error
	Wake()
}

// Engine runs escalations and handoff announcements on the leader.
type Engine struct {
	st  *store.Store
	out Outbox
	cfg func() *config.Config
	log *slog.Logger

	// Now is the clock; tests replace it.
	Now func() time.Time
	// Fence, when set, is asked before each pass: false skips it (another
	// replica leads).
	Fence func() bool

	// DMs, when set, sends the "dm" way of a step on the platforms it has.
	DMs *DMs
	// Timeline, when set, puts every line the engine says in an alert's
	// thread into the timeline of the incidents the alert's target
	// concerns, inside the same transaction as the step, stop or outcome
	// it tells of (incidents.Service.RecordActionTx): both are written or
	// neither.
	Timeline func(ctx context.Context, tx store.DBTX, target, actor, text string, now time.Time) error

	wake      chan struct{}
	pollEvery time.Duration
	routes    routedTree
}

// New makes an engine.
func New(st *store.Store, out Outbox, cfg func() *config.Config, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.Default()
	}
	return &Engine{st: st, out: out, cfg: cfg, log: log, Now: time.Now, wake: make(chan struct{}, 1), pollEvery: time.Second}
}

// Poke makes Run look now (an alert was announced, acknowledged or resolved).
func (e *Engine) Poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

const batch = 200

// StartGrace is how late a step may be when its escalation starts: an
// escalation a new leader starts moments after the alert's announcement
// takes every step; one started for an alert announced before paging was
// configured skips the steps overdue by more than this.
const StartGrace = 10 * time.Minute

// timelineActor names the engine in incident timelines.
const timelineActor = "opsbot paging"

// PageChannel is the outbox address of alert id's pages through an
// integration: one lane per alert and integration, so an alert's trigger,
// acknowledge and resolve go out in order and one alert's failing page
// holds up no other alert's.
func PageChannel(integration string, alertID int64) string {
	return "page:" + integration + "/" + strconv.FormatInt(alertID, 10)
}

// Tick does everything due at Now: starts escalations of newly announced
// alerts, stops those acknowledged or resolved (telling the integrations),
// takes due steps, reports page outcomes in the alerts' threads and
// announces a handoff. Run calls it; tests call it after moving the clock.
func (e *Engine) Tick(ctx context.Context) error {
	if e.Fence != nil && !e.Fence() {
		return nil
	}
	defer e.out.Wake()
	cfg := e.cfg()
	if err := e.start(ctx, cfg); err != nil {
		return fmt.Errorf("escalation start: %w", err)
	}
	if err := e.stop(ctx, cfg); err != nil {
		return fmt.Errorf("escalation stop: %w", err)
	}
	if err := e.rise(ctx, cfg); err != nil {
		return fmt.Errorf("escalation severity change: %w", err)
	}
	if err := e.steps(ctx, cfg); err != nil {
		return fmt.Errorf("escalation step: %w", err)
	}
	if err := e.outcomes(ctx); err != nil {
		return fmt.Errorf("page outcomes: %w", err)
	}
	if err := e.handoff(ctx, cfg); err != nil {
		return fmt.Errorf("handoff: %w", err)
	}
	return nil
}

// Run ticks until ctx ends: when poked, when a step is due, and every
// second for page outcomes and alerts other replicas announced.
func (e *Engine) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-e.wake:
		}
		if err := e.Tick(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("paging pass failed", "err", err)
		}
		wait := e.pollEvery
		if next, ok, err := store.NextEscalationAt(ctx, e.st.DB); err == nil && ok {
			wait = min(max(next.Sub(e.Now()), 10*time.Millisecond), wait)
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}

// start gives each announced, unacknowledged alert that matches a policy
// its escalation, its first step due at the announcement plus the step's delay.
func (e *Engine) start(ctx context.Context, cfg *config.Config) error {
	if len(cfg.Paging.Policies) == 0 {
		return nil
	}
	for {
		cands, err := store.EscalationCandidates(ctx, e.st.DB, batch)
		if err != nil {
			return err
		}
		if err := e.startAll(ctx, cfg, cands); err != nil || len(cands) < batch {
			return err
		}
	}
}

func (e *Engine) startAll(ctx context.Context, cfg *config.Config, cands []store.AlertRow) error {
	for _, a := range cands {
		pol, ok := e.policyOf(cfg, a)
		if !ok {
			// Remember that it needs none, so it is not looked at again.
			pol.Name = ""
		}
		esc := store.Escalation{AlertID: a.ID, Fingerprint: a.Fingerprint, Policy: pol.Name, Severity: a.Severity, State: store.EscActive, StartedAt: a.RoutedAt}
		// Steps long overdue when the escalation starts (an alert announced
		// before paging was configured) are not taken in a burst.
		k := 0
		for ok && k < len(pol.Steps) && a.RoutedAt.Add(pol.Steps[k].After).Before(e.Now().Add(-StartGrace)) {
			k++
		}
		if ok && k < len(pol.Steps) {
			esc.NextStep, esc.NextAt = k, store.T(a.RoutedAt.Add(pol.Steps[k].After))
		} else {
			esc.State, esc.StoppedAt = store.EscResolved, store.T(e.Now())
		}
		if _, err := store.StartEscalation(ctx, e.st.DB, esc); err != nil {
			return err
		}
	}
	return nil
}

func policyByName(cfg *config.Config, name string) (config.EscalationPolicy, bool) {
	for _, p := range cfg.Paging.Policies {
		if p.Name == name {
			return p, true
		}
	}
	return config.EscalationPolicy{}, false
}

// steps takes every due step, each in its own transaction.
func (e *Engine) steps(ctx context.Context, cfg *config.Config) error {
	for {
		now := e.Now()
		due, err := store.DueEscalations(ctx, e.st.DB, now, batch)
		if err != nil || len(due) == 0 {
			return err
		}
		progress := false
		for _, esc := range due {
			took, err := e.step(ctx, cfg, esc, now)
			if err != nil {
				return err
			}
			progress = progress || took
		}
		if !progress {
			return nil
		}
	}
}

// step takes step esc.NextStep of alert esc.AlertID; false when another
// process took it first or the alert no longer needs it.
func (e *Engine) step(ctx context.Context, cfg *config.Config, esc store.Escalation, now time.Time) (bool, error) {
	pol, ok := policyByName(cfg, esc.Policy)
	took := false
	err := e.st.Tx(ctx, func(tx *sqlx.Tx) error {
		a, err := store.AlertByID(ctx, tx, esc.AlertID)
		if err != nil {
			return err
		}
		if a.State != store.AlertFiring || a.AckedBy != "" {
			return nil // stop() handles it
		}
		if !ok || esc.NextStep >= len(pol.Steps) {
			// The policy changed under it: nothing left to do.
			_, err := store.StopEscalation(ctx, tx, esc.AlertID, store.EscActive, store.EscResolved, now, "policy changed")
			return err
		}
		k := esc.NextStep
		var next time.Time
		if k+1 < len(pol.Steps) {
			next = esc.StartedAt.Add(pol.Steps[k+1].After)
		}
		moved, err := store.AdvanceEscalation(ctx, tx, esc.AlertID, esc.Policy, k, k+1, next)
		if err != nil || !moved {
			return err
		}
		st := pol.Steps[k]
		dir, err := loadDirectory(ctx, tx, cfg, now)
		if err != nil {
			return err
		}
		whom := dir.resolve(st, now)
		var names []string
		for _, p := range whom {
			names = append(names, p.label)
		}
		if err := store.RecordStep(ctx, tx, a.ID, esc.Policy, k, now, strings.Join(names, ","), strings.Join(st.Via, ",")); err != nil {
			return err
		}
		took = true
		if len(whom) == 0 {
			return e.say(ctx, tx, a, func(string) chat.Message {
				return chat.Message{Severity: chat.SevWarning, Text: fmt.Sprintf(txtStepNobody, k+1, len(pol.Steps), pol.Name, stepWho(st))}
			}, now)
		}
		links, err := alertLinks(ctx, tx, cfg, a.ID)
		if err != nil {
			return err
		}
		mention := false
		for _, via := range st.Via {
			if via == "channel" {
				mention = true
				continue
			}
			if via == "dm" {
				if err := e.dm(ctx, tx, a, whom, k+1, len(pol.Steps), now); err != nil {
					return err
				}
				continue
			}
			in, ok := cfg.Paging.Integrations[via]
			if !ok {
				continue
			}
			for _, p := range whom {
				if in.Type == "email" && p.Email == "" && len(in.To) == 0 {
					continue
				}
				pg := pageOf(a, chat.PageTrigger, links)
				pg.Step, pg.Person, pg.Email, pg.Phone = k+1, p.name, p.Email, p.Phone
				id, err := e.out.SendTx(ctx, tx, PageChannel(via, a.ID), "page:"+strconv.FormatInt(a.ID, 10), pageMessage(pg), now)
				if err != nil {
					return err
				}
				if err := store.AddPage(ctx, tx, store.Page{OutboxID: id, AlertID: a.ID, Integration: via, Action: chat.PageTrigger, Whom: p.name, CreatedAt: store.T(now)}); err != nil {
					return err
				}
			}
		}
		var pages []string
		for _, v := range st.Via {
			if v == "dm" {
				v = txtDM
			}
			if v != "channel" {
				pages = append(pages, v)
			}
		}
		return e.say(ctx, tx, a, func(channel string) chat.Message {
			m := chat.Message{Severity: chat.SevWarning}
			platform, _, _ := strings.Cut(channel, ":")
			var who []string
			for _, p := range whom {
				who = append(who, p.label)
				if mention {
					if id := p.idOn(platform); id != "" {
						m.Mentions = append(m.Mentions, id)
					}
				}
			}
			what := strings.Join(who, ", ")
			if len(pages) > 0 {
				what = fmt.Sprintf(txtPaging, what, strings.Join(pages, ", "))
			} else {
				what = fmt.Sprintf(txtMention, what)
			}
			m.Text = fmt.Sprintf(txtStep, k+1, len(pol.Steps), pol.Name, what)
			return m
		}, now)
	})
	if err != nil {
		return false, fmt.Errorf("alert %d step %d: %w", esc.AlertID, esc.NextStep, err)
	}
	return took, nil
}

func stepWho(st config.Step) string {
	if st.Rotation != "" {
		return st.Rotation
	}
	return strings.Join(st.People, ", ")
}

// stop ends the escalations of alerts acknowledged or resolved since, and
// tells each integration the alert was paged through.
func (e *Engine) stop(ctx context.Context, cfg *config.Config) error {
	list, err := store.StoppingEscalations(ctx, e.st.DB, batch)
	if err != nil {
		return err
	}
	for _, esc := range list {
		now := e.Now()
		err := e.st.Tx(ctx, func(tx *sqlx.Tx) error {
			a, err := store.AlertByID(ctx, tx, esc.AlertID)
			if err != nil {
				return err
			}
			to, action, by := store.EscAcked, chat.PageAcknowledge, a.AckedBy
			if a.State == store.AlertResolved {
				to, action, by = store.EscResolved, chat.PageResolve, ""
			}
			ok, err := store.StopEscalation(ctx, tx, esc.AlertID, esc.State, to, now, by)
			if err != nil || !ok {
				return err
			}
			paged, err := store.PagedIntegrations(ctx, tx, a.ID)
			if err != nil {
				return err
			}
			// Acknowledged in an integration (PagerDuty's webhook): that
			// one is not told back what it told us.
			ia, err := store.IntegrationAckOf(ctx, tx, a.ID)
			fromInteg := err == nil && to == store.EscAcked
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			var notified []string
			links, err := alertLinks(ctx, tx, cfg, a.ID)
			if err != nil {
				return err
			}
			for _, name := range paged {
				in, ok := cfg.Paging.Integrations[name]
				if !ok || (fromInteg && name == ia.Integration) {
					continue
				}
				// A mail is sent when it resolves, threaded under the page;
				// an acknowledgement is no reason to mail everyone again.
				if in.Type == "email" && action == chat.PageAcknowledge {
					continue
				}
				pg := pageOf(a, action, links)
				pg.By = by
				if in.Type == "email" {
					// Threaded under the first page mailed.
					pages, err := store.PagesOf(ctx, tx, a.ID)
					if err != nil {
						return err
					}
					for _, p := range pages {
						if p.Integration == name && p.Action == chat.PageTrigger {
							pg.Person = p.Whom
							if per, ok := cfg.Paging.People[p.Whom]; ok {
								pg.Email = per.Email
							}
							break
						}
					}
				}
				id, err := e.out.SendTx(ctx, tx, PageChannel(name, a.ID), "page:"+strconv.FormatInt(a.ID, 10), pageMessage(pg), now)
				if err != nil {
					return err
				}
				if err := store.AddPage(ctx, tx, store.Page{OutboxID: id, AlertID: a.ID, Integration: name, Action: action, CreatedAt: store.T(now)}); err != nil {
					return err
				}
				notified = append(notified, name)
			}
			var text string
			switch {
			case to == store.EscResolved && len(notified) == 0:
				return nil // the resolved message says it all
			case to == store.EscResolved:
				text = fmt.Sprintf(txtResolved, strings.Join(notified, ", "))
			default:
				taken, err := store.StepsTaken(ctx, tx, a.ID)
				if err != nil {
					return err
				}
				pol, _ := policyByName(cfg, esc.Policy)
				text = fmt.Sprintf(txtAcked, by, taken, len(pol.Steps))
				if len(notified) > 0 {
					text = fmt.Sprintf(txtAckedPages, by, taken, len(pol.Steps), strings.Join(notified, ", "))
				}
				if fromInteg {
					format := txtIntegAcked
					if ia.Action == "resolved" {
						format = txtIntegResolved
					}
					text = fmt.Sprintf(format, integrationTitle(cfg, ia.Integration), ia.By, taken, len(pol.Steps))
					if len(notified) > 0 {
						text = strings.TrimSuffix(text, ".") + fmt.Sprintf(txtTold, strings.Join(notified, ", "))
					}
				}
			}
			return e.say(ctx, tx, a, func(string) chat.Message {
				return chat.Message{Severity: chat.SevInfo, Text: text}
			}, now)
		})
		if err != nil {
			return fmt.Errorf("alert %d: %w", esc.AlertID, err)
		}
	}
	return nil
}

// outcomes tells in the alert's thread how each page ended, once: a
// trigger delivered, or any page given up on (a PagerDuty 400, an SMTP
// server refusing the login, a webhook failing past the retries).
func (e *Engine) outcomes(ctx context.Context) error {
	list, err := store.UnreportedPages(ctx, e.st.DB, batch)
	if err != nil {
		return err
	}
	for _, p := range list {
		now := e.Now()
		err := e.st.Tx(ctx, func(tx *sqlx.Tx) error {
			ok, err := store.MarkPageReported(ctx, tx, p.OutboxID, now, p.SentAt.Time)
			if err != nil || !ok {
				return err
			}
			var text string
			switch {
			case !p.ParkedAt.IsZero() && p.Action == chat.PageTrigger:
				text = fmt.Sprintf(txtParked, p.Integration, p.Whom, firstLine(p.LastError))
			case !p.ParkedAt.IsZero():
				text = fmt.Sprintf(txtParkedOther, capital(p.Action), p.Integration, firstLine(p.LastError))
			case p.Action == chat.PageTrigger:
				text = fmt.Sprintf(txtDelivered, p.Integration, p.Whom)
			default:
				return nil // the stop line said it was sent
			}
			a, err := store.AlertByID(ctx, tx, p.AlertID)
			if err != nil {
				return err
			}
			sev := chat.SevInfo
			if !p.ParkedAt.IsZero() {
				sev = chat.SevWarning
			}
			return e.say(ctx, tx, a, func(string) chat.Message { return chat.Message{Severity: sev, Text: text} }, now)
		})
		if err != nil {
			return fmt.Errorf("page %d: %w", p.OutboxID, err)
		}
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	s = strings.TrimPrefix(s, chat.ErrPermanent.Error()+": ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// pageOf is the page of alert a.
func pageOf(a store.AlertRow, action string, links []string) chat.Page {
	pg := chat.Page{Action: action, DedupKey: a.Fingerprint, AlertID: a.ID, Kind: a.Kind, Rule: a.Rule, Target: a.Target,
		Severity: a.Severity, Summary: a.Summary, State: "firing", StartedAt: a.StartedAt.Time, Links: links}
	_ = json.Unmarshal([]byte(a.Labels), &pg.Labels)
	switch action {
	case chat.PageAcknowledge:
		pg.State = "acknowledged"
	case chat.PageResolve:
		pg.State = "resolved"
	}
	return pg
}

func pageMessage(pg chat.Page) chat.Message {
	sev := chat.Severity(pg.Severity)
	if pg.Action == chat.PageResolve {
		sev = chat.SevResolved
	}
	return chat.Message{Title: fmt.Sprintf(txtPageTitle, pg.Severity, pg.Summary), Severity: sev, Page: &pg}
}

// alertLinks are web links to the alert's delivered messages where the
// platform has them (Slack archives, Discord channels).
func alertLinks(ctx context.Context, q store.DBTX, cfg *config.Config, alertID int64) ([]string, error) {
	msgs, err := store.MessagesOfAlert(ctx, q, alertID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range msgs {
		ref, err := store.RefOf(ctx, q, m.OutboxID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		switch ref.Platform {
		case "slack":
			out = append(out, "https://slack.com/archives/"+ref.Channel+"/p"+strings.ReplaceAll(ref.MessageID, ".", ""))
		case "discord":
			if cfg.Discord.GuildID != "" {
				out = append(out, "https://discord.com/channels/"+cfg.Discord.GuildID+"/"+ref.Channel+"/"+ref.MessageID)
			}
		}
	}
	return out, nil
}

// dm writes a direct message with an Acknowledge button to each person on
// each platform that has DMs and knows them.
func (e *Engine) dm(ctx context.Context, tx store.DBTX, a store.AlertRow, whom []person, step, steps int, now time.Time) error {
	if e.DMs == nil {
		return nil
	}
	for _, p := range whom {
		for _, platform := range []string{"slack", "discord"} {
			id := p.idOn(platform)
			if id == "" || !e.DMs.Has(platform) {
				continue
			}
			m := chat.Message{Title: fmt.Sprintf(txtPageTitle, a.Severity, a.Summary), Severity: chat.Severity(a.Severity),
				Text:    fmt.Sprintf(txtDMText, p.label, step, steps, a.Target),
				Buttons: []chat.Button{{ID: notifier.AckAction, Label: txtAckButton, Value: strconv.FormatInt(a.ID, 10), Style: chat.StylePrimary}}}
			if _, err := e.out.SendTx(ctx, tx, "dm:"+platform+"/"+id, "page:"+strconv.FormatInt(a.ID, 10), m, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// rise picks the policy again for alerts whose severity changed (a warning
// that turns critical): under a different policy the escalation starts over
// from that policy's first step, timed from the change; the same policy
// carries on.
func (e *Engine) rise(ctx context.Context, cfg *config.Config) error {
	list, err := store.RisenEscalations(ctx, e.st.DB, batch)
	if err != nil {
		return err
	}
	for _, esc := range list {
		now := e.Now()
		err := e.st.Tx(ctx, func(tx *sqlx.Tx) error {
			a, err := store.AlertByID(ctx, tx, esc.AlertID)
			if err != nil {
				return err
			}
			next := esc
			next.Severity = a.Severity
			pol, ok := e.policyOf(cfg, a)
			switch {
			case ok && pol.Name == esc.Policy:
				// The same policy: only note the severity.
			case ok && len(pol.Steps) > 0:
				next.Policy, next.State, next.NextStep, next.StartedAt = pol.Name, store.EscActive, 0, store.T(now)
				next.NextAt = store.T(now.Add(pol.Steps[0].After))
			default:
				// No policy for the new severity: the old one carries on.
			}
			_, err = store.Repolicy(ctx, tx, esc.Policy, esc.Severity, next)
			return err
		})
		if err != nil {
			return fmt.Errorf("alert %d: %w", esc.AlertID, err)
		}
	}
	return nil
}

// say writes a line in alert a's thread inside tx, and the same line in
// the timeline of the incidents on a's target.
func (e *Engine) say(ctx context.Context, tx store.DBTX, a store.AlertRow, render func(channel string) chat.Message, now time.Time) error {
	if err := e.out.ReplyAlertTx(ctx, tx, a.Fingerprint, render, now); err != nil {
		return err
	}
	if e.Timeline == nil || a.Target == "" {
		return nil
	}
	return e.Timeline(ctx, tx, a.Target, timelineActor, render("").Text, now)
}

// integrationTitle is how a thread line names integration name's service.
func integrationTitle(cfg *config.Config, name string) string {
	if cfg.Paging.Integrations[name].Type == "pagerduty" {
		return "PagerDuty"
	}
	return name
}
