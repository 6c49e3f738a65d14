package notifier

import (
	"opsbot/alert"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/sync/errgroup"

	"opsbot/chat"
	"opsbot/config"
	"opsbot/store"
)

// ErrInvalid marks bad input (an unknown kind, a bad matcher); the error's
// text is a one-line reason fit to show a user.
var ErrInvalid = errors.New("invalid input")

type inputError struct{ msg string }

func (e *inputError) Error() string        { return e.msg }
func (e *inputError) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, args ...any) error {
	return &inputError{msg: fmt.Sprintf(format, args...)}
}

// Notifier routes alerts to subscribed channels and delivers every message
// through the store's outbox. It implements chat.Outbox for incidents and
// scheduled jobs too.
type Notifier struct {
	st     *store.Store
	poster chat.Poster
	cfg    func() *config.Config
	log    *slog.Logger

	// Now is the clock; tests replace it before Run.
	Now func() time.Time
	// Jitter returns a number in [0,1) spreading retries; tests may fix it.
	Jitter func() float64

	mu     sync.Mutex // serialises routing decisions
	hookMu sync.Mutex
	hooks  []func(ctx context.Context, a alert.Alert)
	// escHooks are called when an announced alert's severity rises.
	escHooks []func(ctx context.Context, a alert.Alert)
	wake     chan struct{}

	holdMu sync.Mutex
	hold   map[string]time.Time // channel → not before (the platform's retry-after)

	// Fence, when set, is asked before the pipeline writes and right
	// before each send; false (this replica may no longer lead) skips the
	// work. nil always allows.
	Fence func() bool
	lanes lanes // delivery lanes: claim holder, channels in flight

	// Redact cleans what producers observed before it is stored (nil:
	// the built-in rules).
	Redact func(string) string

	actions       Actions
	defaultSource alert.Sink
	amSource      alert.Sink
	inboxWake     chan struct{}
	pollEvery     time.Duration // how often the inbox is read for other replicas' observations

	diagAction string      // the Diagnose button's id ("" : no button)
	symptomOf  SymptomFunc // an alert's diagnosis and runbook (nil: neither)
	routes     routingCache
}

var _ chat.Outbox = (*Notifier)(nil)

// New makes a notifier posting through poster (a chat.Router in the app).
func New(st *store.Store, poster chat.Poster, cfg func() *config.Config, log *slog.Logger) *Notifier {
	if log == nil {
		log = slog.Default()
	}
	n := &Notifier{
		st: st, poster: poster, cfg: cfg, log: log,
		Now:       time.Now,
		Jitter:    rand.Float64,
		wake:      make(chan struct{}, 1),
		hold:      map[string]time.Time{},
		inboxWake: make(chan struct{}, 1),
		pollEvery: 100 * time.Millisecond,
	}
	n.defaultSource = n.Source("opsbot")
	n.amSource = n.Source("alertmanager")
	return n
}

// OnAlert adds a hook called once for each alert episode when it is
// announced (after its group window, and not while it is silenced or its
// target is in maintenance, so a planned restart opens no incident), and
// once more when an announced episode resolves.
func (n *Notifier) OnAlert(h func(ctx context.Context, a alert.Alert)) {
	n.hookMu.Lock()
	defer n.hookMu.Unlock()
	n.hooks = append(n.hooks, h)
}

// OnEscalate adds a hook called when an alert already announced rises in
// severity under the same fingerprint (warning → critical), so a hook that
// acts only on critical alerts (opening an incident) sees it; OnAlert hooks
// are not called again for the episode.
func (n *Notifier) OnEscalate(h func(ctx context.Context, a alert.Alert)) {
	n.hookMu.Lock()
	defer n.hookMu.Unlock()
	n.escHooks = append(n.escHooks, h)
}

func (n *Notifier) afterEscalate(ctx context.Context, escalated []store.AlertRow) {
	n.callHooks(ctx, &n.escHooks, escalated)
}

// callHooks calls every hook in *list for each alert row, outside the lock.
func (n *Notifier) callHooks(ctx context.Context, list *[]func(context.Context, alert.Alert), rows []store.AlertRow) {
	if len(rows) == 0 {
		return
	}
	n.hookMu.Lock()
	hooks := append([]func(context.Context, alert.Alert){}, (*list)...)
	n.hookMu.Unlock()
	for _, r := range rows {
		a := fromRow(r)
		for _, h := range hooks {
			h(ctx, a)
		}
	}
}

func (n *Notifier) poke() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *Notifier) validate(a *alert.Alert) error {
	if a.Fingerprint == "" {
		return invalidf("alert without fingerprint (rule %q)", a.Rule)
	}
	if !slices.Contains(alert.Kinds, a.Kind) {
		return invalidf("alert %s: unknown kind %q (want %s)", a.Fingerprint, a.Kind, strings.Join(alert.Kinds, ", "))
	}
	switch a.Status {
	case "":
		a.Status = alert.Firing
	case alert.Firing, alert.Resolved:
	default:
		return invalidf("alert %s: unknown status %q (want firing or resolved)", a.Fingerprint, a.Status)
	}
	switch a.Severity {
	case "":
		a.Severity = "warning"
	case "warning", "critical":
	default:
		return invalidf("alert %s: unknown severity %q (want warning or critical)", a.Fingerprint, a.Severity)
	}
	if a.Rule == "" {
		a.Rule = a.Kind
	}
	return nil
}

// apply is the dedup stage: it applies claimed observations to alert
// state in one transaction (a new firing episode, seen again, a changed
// severity, resolved) and reports what the later stages need.
func (n *Notifier) apply(ctx context.Context, tx *sqlx.Tx, alerts []alert.Alert, now time.Time) (applied, error) {
	var out applied
	cfg := n.cfg()
	windowEnd, open, err := store.OpenGroupWindow(ctx, tx, now)
	if err != nil {
		return out, err
	}
	var resolved []int64
	var changed []sevChange
	// One query tells which of the batch's fingerprints fire now, and new
	// episodes are inserted together: a batch of alerts costs a few
	// statements, not one or two per alert.
	fps := make([]string, len(alerts))
	for i, a := range alerts {
		fps[i] = a.Fingerprint
	}
	active, err := store.FiringAlertsOf(ctx, tx, fps)
	if err != nil {
		return out, err
	}
	var fresh []*store.AlertRow // new episodes, inserted together
	insert := func() error {
		err := store.InsertAlerts(ctx, tx, fresh)
		fresh = nil
		return err
	}
	seen := make(map[string]bool, len(alerts)) // written in this batch: read again
	for _, a := range alerts {
		cur, found := active[a.Fingerprint]
		if seen[a.Fingerprint] {
			if err := insert(); err != nil {
				return out, err
			}
			cur, err = store.FiringAlert(ctx, tx, a.Fingerprint)
			found = err == nil
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return out, err
			}
		}
		seen[a.Fingerprint] = true
		if a.Status == alert.Resolved {
			if !found {
				continue // never fired here, or resolved already
			}
			at := a.EndsAt
			if at.IsZero() || at.After(now) {
				at = now
			}
			if err := store.ResolveAlert(ctx, tx, cur.ID, at); err != nil {
				return out, err
			}
			// A bare resolve (no summary) says nothing of the value now.
			if a.Summary != "" && (a.Summary != cur.Summary || a.Value != cur.Value) {
				if err := store.SetAlertEnd(ctx, tx, cur.ID, a.Value, a.Summary); err != nil {
					return out, err
				}
			}
			if !cur.RoutedAt.IsZero() {
				resolved = append(resolved, cur.ID)
				// Announced alerts tell the hooks (incident timelines) that
				// they ended, with what resolved them.
				row, err := store.AlertByID(ctx, tx, cur.ID)
				if err != nil {
					return out, err
				}
				if row.EndSummary != "" {
					row.Summary = row.EndSummary
				}
				out.resolvedRows = append(out.resolvedRows, row)
			}
			out.resolved = append(out.resolved, a.Fingerprint)
			continue
		}
		if found {
			if err := store.TouchAlert(ctx, tx, cur.ID, now, a.Value, a.Summary); err != nil {
				return out, err
			}
			if a.Detail != "" && a.Detail != cur.Detail {
				if err := store.SetAlertDetail(ctx, tx, cur.ID, a.Detail); err != nil {
					return out, err
				}
			}
			if a.Severity != cur.Severity {
				// The same condition, worse or better: not a duplicate.
				if err := store.SetAlertSeverity(ctx, tx, cur.ID, a.Severity); err != nil {
					return out, err
				}
				switch {
				case !cur.RoutedAt.IsZero():
					changed = append(changed, sevChange{id: cur.ID, from: cur.Severity})
				case cur.Pending == store.PendingSilence:
					// The silence may have matched the old severity only:
					// look again now.
					if err := store.SetAlertPending(ctx, tx, cur.ID, store.PendingSilence, now, cur.SilenceID); err != nil {
						return out, err
					}
				}
			}
			out.firing = append(out.firing, firingAlert{Alert: a})
			continue
		}
		if !open {
			windowEnd, open = now.Add(cfg.Notifier.GroupWait), true
		}
		labels, _ := json.Marshal(a.Labels)
		start := a.StartsAt
		if start.IsZero() || start.After(now) {
			start = now
		}
		row := store.AlertRow{Fingerprint: a.Fingerprint, Kind: a.Kind, Rule: a.Rule, Target: a.Target, Severity: a.Severity,
			Labels: string(labels), Summary: a.Summary, Detail: a.Detail, Value: a.Value, StartedAt: store.T(start), LastSeenAt: store.T(now),
			Pending: store.PendingGroup, RouteAt: store.T(windowEnd)}
		fresh = append(fresh, &row)
		out.firing = append(out.firing, firingAlert{Alert: a})
	}
	if err := insert(); err != nil {
		return out, err
	}
	if out.escalated, err = n.announceSeverity(ctx, tx, changed, now); err != nil {
		return out, err
	}
	if err := n.announceResolved(ctx, tx, resolved, now); err != nil {
		return out, err
	}
	return out, nil
}

func (n *Notifier) afterRoute(ctx context.Context, routed []store.AlertRow) {
	n.poke()
	n.callHooks(ctx, &n.hooks, routed)
}

func fromRow(r store.AlertRow) alert.Alert {
	a := alert.Alert{Fingerprint: r.Fingerprint, Kind: r.Kind, Rule: r.Rule, Target: r.Target, Severity: r.Severity,
		Status: r.State, Summary: r.Summary, Value: r.Value, StartsAt: r.StartedAt.Time, EndsAt: r.ResolvedAt.Time}
	_ = json.Unmarshal([]byte(r.Labels), &a.Labels)
	return a
}

// nextTick is when Tick next has work (zero when nothing is pending).
func (n *Notifier) nextTick(ctx context.Context) (time.Time, error) {
	var next time.Time
	consider := func(t time.Time, ok bool) {
		if ok && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	t, ok, err := store.NextRouteAt(ctx, n.st.DB)
	if err != nil {
		return next, err
	}
	consider(t, ok)
	t, ok, err = store.NextRepeatBase(ctx, n.st.DB)
	if err != nil {
		return next, err
	}
	consider(t.Add(n.cfg().Notifier.Repeat), ok)
	return next, nil
}

// Parked counts notifications given up on (dead letters), for /ops status.
func (n *Notifier) Parked(ctx context.Context) (int, error) {
	return store.CountParked(ctx, n.st.DB)
}

// Pending counts notifications waiting for delivery.
func (n *Notifier) Pending(ctx context.Context) (int, error) {
	return store.OutboxPending(ctx, n.st.DB)
}

// Seed adds the subscriptions named in configuration that the store lacks.
func (n *Notifier) Seed(ctx context.Context) error {
	now := n.Now()
	for _, s := range n.cfg().Channels.Subscriptions {
		sev := s.MinSeverity
		if sev == "" {
			sev = "warning"
		}
		for _, k := range s.Kinds {
			if !slices.Contains(alert.Kinds, k) {
				n.log.Warn("subscription seed skipped: unknown kind", "channel", s.Channel, "kind", k)
				continue
			}
			if _, err := n.st.SeedSubscription(ctx, store.Subscription{Channel: s.Channel, Kind: k, MinSeverity: sev,
				Oncall: s.Oncall, CreatedBy: "config", CreatedAt: store.T(now)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Run seeds subscriptions, then runs the delivery lanes and the
// routing/repeat timer until ctx ends; it returns after both stopped.
func (n *Notifier) Run(ctx context.Context) error {
	n.forgetGroupsSent()
	if err := n.Seed(ctx); err != nil && ctx.Err() == nil {
		n.log.Error("subscriptions not seeded", "err", err)
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return n.runLanes(ctx) })
	g.Go(func() error { return n.runPipeline(ctx) })
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

const maxSleep = 5 * time.Second

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
