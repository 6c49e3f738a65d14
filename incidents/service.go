// Package incidents runs incidents: it keeps them in the store, gives each
// one chat thread (the first message edited in place, every later event a
// reply), fills the timeline from alerts, commands and automatic actions,
// reminds the lead when a stage runs past its target time, and writes the
// post-mortem draft. Chat goes through a chat.Outbox, so nothing is lost.
package incidents

import (
	"opsbot/alert"
	"opsbot/human"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"opsbot/chat"
	"opsbot/config"
	"opsbot/incident"
	"opsbot/store"
	"opsbot/textclip"
)

// MaxNote bounds a note's length in characters.
const MaxNote = 2000

// maxSummary bounds the text kept of a command's or action's summary.
const maxSummary = 300

// Clock is the time source of the service; tests inject a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Service runs incidents.
type Service struct {
	st  *store.Store
	out chat.Outbox
	cfg func() *config.Config
	log *slog.Logger

	// Clock drives timestamps and the reminder loop (default: real time).
	Clock Clock
	// Redact cleans text taken from commands, alerts and people before it is
	// stored or posted (default: unchanged).
	Redact func(string) string
	// MaxWait bounds the reminder loop's sleep, so changes made by another
	// replica are seen (default one minute).
	MaxWait time.Duration

	wake chan struct{}
	// mu serialises changes made here; the version check in the store
	// covers changes made by other replicas.
	mu sync.Mutex
}

// New makes the service. out may be nil: incidents then live only in the
// store (no thread).
func New(st *store.Store, out chat.Outbox, cfg func() *config.Config, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{st: st, out: out, cfg: cfg, log: log, Clock: realClock{}, MaxWait: time.Minute, wake: make(chan struct{}, 1)}
}

func (s *Service) now() time.Time { return s.Clock.Now() }

func (s *Service) redact(t string) string {
	if s.Redact == nil {
		return t
	}
	return s.Redact(t)
}

// Owner is the outbox owner key of an incident's thread.
func Owner(id int64) string { return fmt.Sprintf("incident:%d", id) }

// Get returns an incident and its timeline, oldest first.
func (s *Service) Get(ctx context.Context, id int64) (incident.Incident, []incident.Entry, error) {
	inc, err := s.load(ctx, id)
	if err != nil {
		return inc, nil, err
	}
	tl, err := s.st.IncidentTimeline(ctx, id)
	return inc, tl, err
}

func (s *Service) load(ctx context.Context, id int64) (incident.Incident, error) {
	inc, err := s.st.Incident(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return inc, incident.Refusef(incident.ErrNotFound, "no incident #%d", id)
	}
	return inc, err
}

// List returns up to limit incidents, newest first (only open ones if open).
func (s *Service) List(ctx context.Context, open bool, limit int) ([]incident.Incident, error) {
	return s.st.ListIncidents(ctx, open, limit)
}

// Open opens an incident by hand. The title is refused when empty or
// longer than incidents.max_title; target, when given, must be a configured
// target, and when not given is the only configured target if there is
// just one. A person opening it has acknowledged it.
func (s *Service) Open(ctx context.Context, title, severity, target, actor string) (incident.Incident, error) {
	return s.OpenIn(ctx, title, severity, target, "", actor)
}

// OpenIn is Open with the incident's thread in channel (an address from
// ThreadChannels; "" for the configured incident channel).
func (s *Service) OpenIn(ctx context.Context, title, severity, target, channel, actor string) (incident.Incident, error) {
	cfg := s.cfg()
	title, err := incident.CheckTitle(s.redact(title), cfg.Incidents.MaxTitle)
	if err != nil {
		return incident.Incident{}, err
	}
	sev, err := incident.ParseSeverity(severity)
	if err != nil {
		return incident.Incident{}, err
	}
	names := make([]string, len(cfg.Targets))
	for i, t := range cfg.Targets {
		names[i] = t.Name
	}
	switch {
	case target == "" && len(names) == 1:
		target = names[0]
	case target != "" && !contains(names, target):
		if t, ok := cfg.Target(target); ok {
			target = t.Name
			break
		}
		return incident.Incident{}, incident.Refusef(incident.ErrBadInput, "%s", human.Unknown("target", "targets", target, names))
	}
	if target != "" {
		if a, err := s.st.ActiveIncident(ctx, target); err == nil {
			return incident.Incident{}, incident.Refusef(incident.ErrBadInput, "incident #%d (%s) is already open for %s; add to it, or move it to post-mortem first", a.ID, a.Title, target)
		} else if !errors.Is(err, store.ErrNotFound) {
			return incident.Incident{}, err
		}
	}
	inc, err := s.create(ctx, title, sev, target, channel, actor, true)
	if errors.Is(err, store.ErrConflict) {
		return incident.Incident{}, incident.Refusef(incident.ErrBadInput, "an incident was opened for %s a moment ago; see /ops incident list --open", target)
	}
	return inc, err
}

// OpenOrAttach opens an incident for target — a critical alert or a spent
// restart budget does this — or, when target already has an active
// incident, adds the event to that one instead (raising its severity to
// critical when this is critical). It reports the incident's id and
// whether it was opened now.
func (s *Service) OpenOrAttach(ctx context.Context, target, title, severity, actor string) (int64, bool, error) {
	return s.openOrAttach(ctx, target, title, severity, actor, true)
}

func (s *Service) openOrAttach(ctx context.Context, target, title, severity, actor string, attachEntry bool) (int64, bool, error) {
	sev, err := incident.ParseSeverity(severity)
	if err != nil {
		return 0, false, err
	}
	title = incident.ShortTitle(s.redact(title), s.cfg().Incidents.MaxTitle)
	if title == "" {
		title = "trouble on " + orDefault(target, "the host")
	}
	for attempt := 0; attempt < 3; attempt++ {
		if target != "" {
			a, err := s.st.ActiveIncident(ctx, target)
			if err == nil {
				return a.ID, false, s.attach(ctx, a.ID, title, sev, actor, attachEntry)
			}
			if !errors.Is(err, store.ErrNotFound) {
				return 0, false, err
			}
		}
		inc, err := s.create(ctx, title, sev, target, "", actor, false)
		if errors.Is(err, store.ErrConflict) {
			continue // opened by someone else a moment ago: attach to it
		}
		if err != nil {
			return 0, false, err
		}
		return inc.ID, true, nil
	}
	return 0, false, fmt.Errorf("open or attach incident for %q: target keeps changing", target)
}

func (s *Service) attach(ctx context.Context, id int64, title, sev, actor string, withEntry bool) error {
	_, err := s.change(ctx, id, func(inc incident.Incident, now time.Time) (incident.Incident, []incident.Entry, error) {
		var es []incident.Entry
		if withEntry {
			es = append(es, incident.Entry{At: now, Actor: actor, Kind: incident.KindAttach, Text: title})
		}
		if sev == incident.SevCritical && inc.Severity != incident.SevCritical {
			es = append(es, incident.Entry{At: now, Actor: actor, Kind: incident.KindSeverity, Text: fmt.Sprintf("severity %s → %s", inc.Severity, sev)})
			inc.Severity = sev
		}
		return inc, es, nil
	})
	return err
}

func (s *Service) create(ctx context.Context, title, sev, target, channel, actor string, byHand bool) (incident.Incident, error) {
	now := s.now()
	if channel == "" {
		channel = s.cfg().Channels.Incident
	}
	inc := incident.Incident{
		Title: title, Severity: sev, Stage: incident.Discovery, Target: target, OpenedBy: actor,
		Channel: channel, OpenedAt: now, StageAt: now, ClockAt: now,
	}
	if byHand {
		inc.AckedAt = now
	}
	first := incident.Entry{At: now, Actor: actor, Kind: incident.KindOpened, Stage: incident.Discovery,
		Text: fmt.Sprintf("opened: %s (%s, %s)", title, sev, orDefault(target, "every target"))}
	id, err := s.st.CreateIncident(ctx, inc, first)
	if err != nil {
		return inc, err
	}
	inc.ID = id
	s.log.Info("incident opened", "id", id, "target", target, "severity", sev, "by", actor)
	if s.out != nil && inc.Channel != "" {
		if err := s.out.Send(ctx, inc.Channel, Owner(id), header(s.printer(ctx, inc.Channel), inc, now)); err != nil {
			s.log.Error("incident thread not started", "id", id, "channel", inc.Channel, "err", err)
		}
	}
	if target != "" {
		s.backfill(ctx, id, target)
	}
	s.poke()
	return inc, nil
}

// change applies fn to the current state of incident id and stores the
// result with fn's timeline entries; a concurrent change makes it start
// over from the new state. Entries are then replied in the thread and the
// first message is updated.
func (s *Service) change(ctx context.Context, id int64, fn func(inc incident.Incident, now time.Time) (incident.Incident, []incident.Entry, error)) (incident.Incident, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 0; ; attempt++ {
		prev, err := s.load(ctx, id)
		if err != nil {
			return prev, err
		}
		now := s.now()
		next, entries, err := fn(prev, now)
		if err != nil {
			return prev, err
		}
		if len(entries) == 0 && next == prev {
			return prev, nil
		}
		err = s.st.UpdateIncident(ctx, prev, next, entries...)
		if errors.Is(err, store.ErrConflict) && attempt < 9 {
			continue
		}
		if err != nil {
			return prev, err
		}
		next.Version++
		for _, e := range entries {
			s.reply(ctx, next, entryMessage(s.printer(ctx, next.Channel), next, e))
		}
		s.refresh(ctx, next, now)
		s.poke()
		return next, nil
	}
}

func (s *Service) reply(ctx context.Context, inc incident.Incident, m chat.Message) {
	if s.out == nil || inc.Channel == "" {
		return
	}
	if err := s.out.Reply(ctx, Owner(inc.ID), m); err != nil {
		s.log.Error("incident thread reply not queued", "id", inc.ID, "err", err)
	}
}

func (s *Service) refresh(ctx context.Context, inc incident.Incident, now time.Time) {
	if s.out == nil || inc.Channel == "" {
		return
	}
	if err := s.out.Update(ctx, Owner(inc.ID), header(s.printer(ctx, inc.Channel), inc, now)); err != nil {
		s.log.Error("incident thread head not updated", "id", inc.ID, "err", err)
	}
}

func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// ack marks a person's first action on the incident.
func ack(inc incident.Incident, now time.Time) incident.Incident {
	if inc.AckedAt.IsZero() {
		inc.AckedAt = now
	}
	return inc
}

// Stage moves an incident forward to stage to (closing it when to is
// closed). Backwards moves are refused: they need Reopen.
func (s *Service) Stage(ctx context.Context, id int64, to incident.Stage, actor string) (incident.Incident, error) {
	return s.change(ctx, id, func(inc incident.Incident, now time.Time) (incident.Incident, []incident.Entry, error) {
		if inc.Stage == incident.Closed {
			return inc, nil, incident.Refusef(incident.ErrClosed, "incident #%d is closed; reopen it first", id)
		}
		next, err := inc.Move(to, false, now)
		if err != nil {
			return inc, nil, prefix(id, err)
		}
		text := fmt.Sprintf("stage %s → %s", inc.Stage, to)
		if to == incident.Closed {
			text = fmt.Sprintf("closed (from %s)", inc.Stage)
		}
		return ack(next, now), []incident.Entry{{At: now, Actor: actor, Kind: incident.KindStage, Stage: to, Text: text}}, nil
	})
}

// Close closes an incident.
func (s *Service) Close(ctx context.Context, id int64, actor string) (incident.Incident, error) {
	return s.Stage(ctx, id, incident.Closed, actor)
}

// Reopen takes an incident back to an earlier stage (handling when to is
// zero): the fix did not hold, or it was closed too soon. The reopened
// stage gets its own target window again.
func (s *Service) Reopen(ctx context.Context, id int64, to incident.Stage, actor string) (incident.Incident, error) {
	if to == 0 {
		to = incident.Handling
	}
	return s.change(ctx, id, func(inc incident.Incident, now time.Time) (incident.Incident, []incident.Entry, error) {
		next, err := inc.Move(to, true, now)
		if err != nil {
			return inc, nil, prefix(id, err)
		}
		if next.IsActive() && next.Target != "" {
			if a, err := s.st.ActiveIncident(ctx, next.Target); err == nil && a.ID != id {
				return inc, nil, incident.Refusef(incident.ErrBadInput, "incident #%d is active for %s; close it or move it to post-mortem before reopening #%d", a.ID, next.Target, id)
			}
		}
		return ack(next, now), []incident.Entry{{At: now, Actor: actor, Kind: incident.KindReopened, Stage: to, Text: fmt.Sprintf("reopened: %s → %s", inc.Stage, to)}}, nil
	})
}

// Note adds a note to an open incident.
func (s *Service) Note(ctx context.Context, id int64, text, actor string) (incident.Incident, error) {
	text = strings.TrimSpace(s.redact(text))
	if text == "" {
		return incident.Incident{}, incident.Refusef(incident.ErrBadInput, "the note is empty")
	}
	if n := utf8.RuneCountInString(text); n > MaxNote {
		return incident.Incident{}, incident.Refusef(incident.ErrBadInput, "the note is %d characters long; at most %d", n, MaxNote)
	}
	return s.change(ctx, id, func(inc incident.Incident, now time.Time) (incident.Incident, []incident.Entry, error) {
		if !inc.IsOpen() {
			return inc, nil, incident.Refusef(incident.ErrClosed, "incident #%d is closed; notes go to open incidents (reopen it first)", id)
		}
		return ack(inc, now), []incident.Entry{{At: now, Actor: actor, Kind: incident.KindNote, Text: text}}, nil
	})
}

// SetLead names the incident's lead: a user mention (see incident.ParseMention).
func (s *Service) SetLead(ctx context.Context, id int64, lead, actor string) (incident.Incident, error) {
	if !incident.IsMention(lead) {
		return incident.Incident{}, incident.Refusef(incident.ErrBadInput, "the lead must be a user mention (<@U123>, <@123> or @name), got %q", lead)
	}
	return s.change(ctx, id, func(inc incident.Incident, now time.Time) (incident.Incident, []incident.Entry, error) {
		if !inc.IsOpen() {
			return inc, nil, incident.Refusef(incident.ErrClosed, "incident #%d is closed; reopen it first", id)
		}
		if inc.Lead == lead {
			return inc, nil, incident.Refusef(incident.ErrBadInput, "%s already leads incident #%d", lead, id)
		}
		text := "lead: " + incident.LeadName(lead)
		if inc.Lead != "" {
			text = fmt.Sprintf("lead: %s → %s", incident.LeadName(inc.Lead), incident.LeadName(lead))
		}
		inc.Lead = lead
		return ack(inc, now), []incident.Entry{{At: now, Actor: actor, Kind: incident.KindLead, Ref: lead, Text: text}}, nil
	})
}

// PostMortem writes the post-mortem draft of an incident from its
// timeline, stores it and posts it as a file in the incident's thread.
func (s *Service) PostMortem(ctx context.Context, id int64, actor string) (string, incident.Incident, error) {
	inc, tl, err := s.Get(ctx, id)
	if err != nil {
		return "", inc, err
	}
	now := s.now()
	p := s.printer(ctx, inc.Channel)
	md := incident.RenderPostMortemIn(p, inc, tl, now)
	e := incident.Entry{At: now, Actor: actor, Kind: incident.KindPostMortem, Text: "post-mortem draft written"}
	if err := s.st.SavePostMortem(ctx, id, md, e); err != nil {
		return "", inc, err
	}
	m := entryMessage(p, inc, e)
	m.Files = []chat.File{PostMortemFile(id, md)}
	s.reply(ctx, inc, m)
	return md, inc, nil
}

// PostMortemFile is the draft as a chat attachment.
func PostMortemFile(id int64, md string) chat.File {
	return chat.File{Name: fmt.Sprintf("incident-%d-postmortem.md", id), Mime: "text/markdown", Data: []byte(md)}
}

// Stats summarises the incidents opened in a period.
type Stats struct {
	Since     time.Time
	Count     int
	Open      int
	Critical  int
	Acked     int
	Recovered int
	// MeanAck is the mean time from opening to a person's first action.
	MeanAck time.Duration
	// MeanRecover is the mean time from opening to the end of recovery.
	MeanRecover time.Duration
}

// Stats counts the incidents opened in the last days days.
func (s *Service) Stats(ctx context.Context, days int) (Stats, error) {
	if days <= 0 || days > 3650 {
		return Stats{}, incident.Refusef(incident.ErrBadInput, "days must be from 1 to 3650, got %d", days)
	}
	st := Stats{Since: s.now().Add(-time.Duration(days) * 24 * time.Hour)}
	incs, err := s.st.IncidentsSince(ctx, st.Since)
	if err != nil {
		return st, err
	}
	var ackSum, recSum time.Duration
	for _, inc := range incs {
		st.Count++
		if inc.IsOpen() {
			st.Open++
		}
		if inc.Severity == incident.SevCritical {
			st.Critical++
		}
		if !inc.AckedAt.IsZero() {
			st.Acked++
			ackSum += inc.AckedAt.Sub(inc.OpenedAt)
		}
		if !inc.RecoveredAt.IsZero() {
			st.Recovered++
			recSum += inc.RecoveredAt.Sub(inc.OpenedAt)
		}
	}
	if st.Acked > 0 {
		st.MeanAck = ackSum / time.Duration(st.Acked)
	}
	if st.Recovered > 0 {
		st.MeanRecover = recSum / time.Duration(st.Recovered)
	}
	return st, nil
}

// concerns reports whether something about target belongs in the
// timeline of an incident about incTarget: only when both name the same
// target. An incident about no particular target, and a command or alert
// about none, are correlated with nothing automatically (a note or
// "incident lead" adds to an incident by hand): an unrelated finding on
// the host must not fill an outage's thread.
func concerns(incTarget, target string) bool {
	return incTarget != "" && incTarget == target
}

// record adds an entry to every open incident that target concerns.
func (s *Service) record(ctx context.Context, target string, byPerson bool, mk func(inc incident.Incident, now time.Time) (incident.Entry, bool)) error {
	open, err := s.st.OpenIncidents(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, o := range open {
		if !concerns(o.Target, target) {
			continue
		}
		_, err := s.change(ctx, o.ID, func(inc incident.Incident, now time.Time) (incident.Incident, []incident.Entry, error) {
			if !inc.IsOpen() {
				return inc, nil, nil
			}
			e, ok := mk(inc, now)
			if !ok {
				return inc, nil, nil
			}
			if byPerson {
				inc = ack(inc, now)
			}
			return inc, []incident.Entry{e}, nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Verbs that say nothing about the served system, and results of calls
// that did not run (bad input, no role, a confirmation still pending): the
// timeline skips them.
var (
	unrecordedVerbs   = []string{"incident", "help", "audit", "subscribe", "unsubscribe", "subscriptions"}
	unrecordedResults = []string{"invalid", "denied", "rate-limited", "confirm", "cancelled"}
)

// RecordCommand puts a command someone ran into the timeline of every open
// incident its target concerns (restart, backup, logs search, status…).
// The incident verbs themselves are skipped (they write their own
// entries), and so are calls that did not run.
// A person's command counts as acknowledging the incident.
func (s *Service) RecordCommand(ctx context.Context, target, actor, verbPath, result, summary string, at time.Time) {
	verb, _, _ := strings.Cut(verbPath, " ")
	if verb == "" || contains(unrecordedVerbs, verb) || contains(unrecordedResults, result) {
		return
	}
	text := verbPath
	if target != "" && !strings.Contains(" "+verbPath+" ", " "+target+" ") {
		text += " " + target
	}
	// "ran", not "→ ok": a mirror must not read as "the service is ok".
	switch result {
	case "", "ok":
		text += " — ran"
	case "error", "failed":
		text += " — failed"
	default:
		text += " — " + result
	}
	if sum := cutText(strings.Join(strings.Fields(s.redact(summary)), " "), maxSummary); sum != "" {
		text += ": " + sum
	}
	err := s.record(ctx, target, true, func(inc incident.Incident, now time.Time) (incident.Entry, bool) {
		if at.IsZero() {
			at = now
		}
		return incident.Entry{At: at, Actor: actor, Kind: incident.KindCommand, Status: result, Text: text}, true
	})
	if err != nil {
		s.log.Error("command not recorded in incident timeline", "verb", verbPath, "target", target, "err", err)
	}
}

// RecordAction puts an automatic remediation (a restart after failed
// health checks, a cache flush) into the timeline of every open incident
// its target concerns.
func (s *Service) RecordAction(ctx context.Context, target, actor, text string) {
	text = cutText(strings.Join(strings.Fields(s.redact(text)), " "), maxSummary)
	err := s.record(ctx, target, false, func(inc incident.Incident, now time.Time) (incident.Entry, bool) {
		return incident.Entry{At: now, Actor: actor, Kind: incident.KindAction, Text: text}, true
	})
	if err != nil {
		s.log.Error("action not recorded in incident timeline", "target", target, "err", err)
	}
}

// OnAlert is the notifier's alert hook: a critical alert that fires opens
// an incident for its target (or attaches to the active one), and every
// alert about the target of an open incident, firing or resolved, enters
// its timeline once per change of status.
func (s *Service) OnAlert(ctx context.Context, a alert.Alert) {
	if a.Status != alert.Resolved && a.Severity == incident.SevCritical && s.cfg().Incidents.AutoOpens() {
		// A short title (the rule and its target): the summary sentence is
		// the first entry of the timeline, not the incident's name.
		title := a.Rule + " on " + orDefault(a.Target, "the host")
		if _, _, err := s.openOrAttach(ctx, a.Target, title, incident.SevCritical, "alert:"+a.Rule, false); err != nil {
			s.log.Error("incident not opened for alert", "rule", a.Rule, "target", a.Target, "err", err)
		}
	}
	status := a.Status
	if status == "" {
		status = alert.Firing
	}
	text := fmt.Sprintf("[%s] %s on %s", orDefault(a.Severity, "warning"), a.Rule, orDefault(a.Target, "the host"))
	if a.Summary != "" {
		text += ": " + cutText(s.redact(a.Summary), maxSummary)
	}
	err := s.record(ctx, a.Target, false, func(inc incident.Incident, now time.Time) (incident.Entry, bool) {
		if last, err := s.st.LastIncidentEvent(ctx, inc.ID, incident.KindAlert, a.Fingerprint); err == nil && last.Status == status {
			return incident.Entry{}, false // a repeat of what the timeline already says
		}
		at := now
		if t := a.StartsAt; status == alert.Firing && !t.IsZero() && !t.After(now) {
			at = t
		} else if t := a.EndsAt; status == alert.Resolved && !t.IsZero() && !t.After(now) {
			at = t
		}
		return incident.Entry{At: at, Actor: "alert:" + a.Rule, Kind: incident.KindAlert, Ref: a.Fingerprint, Status: status, Text: text}, true
	})
	if err != nil {
		s.log.Error("alert not recorded in incident timeline", "rule", a.Rule, "target", a.Target, "err", err)
	}
}

func prefix(id int64, err error) error {
	if r, ok := incident.AsRefusal(err); ok {
		return &incident.Refusal{Err: r.Err, Msg: fmt.Sprintf("incident #%d: %s", id, r.Msg)}
	}
	return err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "(none configured)"
	}
	return strings.Join(list, ", ")
}

func cutText(s string, n int) string { return textclip.Runes(s, n, textclip.Ellipsis) }

// backfill puts into a new incident's timeline what already happened on
// its target: the alerts firing there (at the time each began, so the
// impact window starts with the fault, not with the incident) and the
// automatic actions taken since the first of them. An incident opened when
// the restart budget ran out thus carries the outage that led to it.
func (s *Service) backfill(ctx context.Context, id int64, target string) {
	firing, err := store.ListAlerts(ctx, s.st.DB, store.AlertFiring, 200)
	if err != nil {
		s.log.Warn("incident backfill: alerts", "id", id, "err", err)
		return
	}
	var es []incident.Entry
	var since time.Time
	for _, a := range firing {
		if a.Target != target {
			continue
		}
		text := fmt.Sprintf("[%s] %s on %s", a.Severity, a.Rule, target)
		if a.Summary != "" {
			text += ": " + textclip.Runes(s.redact(a.Summary), maxSummary, textclip.Ellipsis)
		}
		es = append(es, incident.Entry{At: a.StartedAt.Time, Actor: "alert:" + a.Rule, Kind: incident.KindAlert, Ref: a.Fingerprint,
			Status: alert.Firing, Text: text})
		if since.IsZero() || a.StartedAt.Before(since) {
			since = a.StartedAt.Time
		}
	}
	if len(es) == 0 {
		return
	}
	rows, err := s.st.AuditSince(ctx, since)
	if err != nil {
		s.log.Warn("incident backfill: actions", "id", id, "err", err)
	}
	for _, r := range rows {
		if r.Target != target || !strings.HasPrefix(r.Verb, "auto ") {
			continue
		}
		es = append(es, incident.Entry{At: r.At.Time, Actor: r.UserName, Kind: incident.KindAction,
			Text: textclip.Runes(s.redact(r.Text), maxSummary, textclip.Ellipsis)})
	}
	sort.SliceStable(es, func(i, j int) bool { return es[i].At.Before(es[j].At) })
	if _, err := s.change(ctx, id, func(inc incident.Incident, now time.Time) (incident.Incident, []incident.Entry, error) {
		return inc, es, nil
	}); err != nil {
		s.log.Warn("incident backfill", "id", id, "err", err)
	}
}
