package notifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"opsbot/routing"
	"opsbot/store"
)

// Roles of a message carrying alerts.
const (
	roleFirst  = "first"
	roleRepeat = "repeat"
)

// routeDue decides for each due alert: held (maintenance), inhibited,
// silenced, waiting for its route's group wait or group interval, or
// announced to every channel its routes name, in one message per channel
// and group.
func (n *Notifier) routeDue(ctx context.Context, tx store.DBTX, now time.Time) ([]store.AlertRow, error) {
	due, err := store.DueAlerts(ctx, tx, now)
	if err != nil || len(due) == 0 {
		return nil, err
	}
	silences, err := n.activeSilences(ctx, tx, now)
	if err != nil {
		return nil, err
	}
	tree, err := n.tree(ctx, tx)
	if err != nil {
		return nil, err
	}
	inh, err := n.inhibitor(ctx, tx)
	if err != nil {
		return nil, err
	}
	if err := n.loadGroupsSent(ctx, tx, now); err != nil {
		return nil, err
	}
	type group struct {
		channel string
		alerts  []store.AlertRow
		oncall  string
	}
	groups := map[string]*group{}
	window := n.cfg().Notifier.GroupWait
	maint := map[string]time.Time{}
	var routed []store.AlertRow
	for _, a := range due {
		if a.Kind == "health" && a.Target != "" {
			until, ok := maint[a.Target]
			if !ok {
				if until, err = maintenanceUntil(ctx, tx, a.Target); err != nil {
					return nil, err
				}
				maint[a.Target] = until
			}
			if until.After(now) {
				if err := store.SetAlertPending(ctx, tx, a.ID, store.PendingHold, until, nil); err != nil {
					return nil, err
				}
				continue
			}
		}
		ls := Labels(a)
		if inh != nil {
			if rule, by, ok := inh.Inhibited(a.Fingerprint, ls); ok {
				if a.Pending != store.PendingInhibit || a.InhibitedBy != by {
					if err := store.AddAlertEvent(ctx, tx, store.AlertEvent{AlertID: a.ID, At: store.T(now), State: "inhibited", Note: by + " (rule " + rule + ")"}); err != nil {
						return nil, err
					}
				}
				if err := store.SetAlertInhibited(ctx, tx, a.ID, by, now.Add(inhibitRecheck)); err != nil {
					return nil, err
				}
				continue
			}
		}
		if s, ok := silencedBy(silences, a); ok {
			id := s.ID
			if a.Pending != store.PendingSilence || a.SilenceID == nil || *a.SilenceID != id {
				if err := store.AddAlertEvent(ctx, tx, store.AlertEvent{AlertID: a.ID, At: store.T(now), State: "silenced", Actor: s.CreatedBy,
					Note: fmt.Sprintf("silence #%d until %s UTC", id, s.EndsAt.UTC().Format("2006-01-02 15:04"))}); err != nil {
					return nil, err
				}
			}
			if err := store.SetAlertPending(ctx, tx, a.ID, store.PendingSilence, s.EndsAt.Time, &id); err != nil {
				return nil, err
			}
			continue
		}
		dests := tree.Destinations(ls)
		// A route waiting longer than the window already waited (its
		// group_wait), or a group announced less than its group_interval
		// ago, postpones the alert.
		wait := time.Time{}
		for _, d := range dests {
			if d.Route.GroupWait <= window {
				// notifier.group_wait's window, shared by every alert
				// that fires in it, was waited already.
			} else if t := a.StartedAt.Add(d.Route.GroupWait); t.After(wait) {
				wait = t
			}
			if t := n.groupOpen(d.Channel+"\x00"+d.Route.GroupKey(ls, a.Fingerprint), d.Route.GroupInterval); t.After(wait) {
				wait = t
			}
		}
		if wait.After(now) {
			if err := store.SetAlertPending(ctx, tx, a.ID, store.PendingGroup, wait, nil); err != nil {
				return nil, err
			}
			continue
		}
		routed = append(routed, a)
		for _, d := range dests {
			key := d.Channel + "\x00" + d.Route.GroupKey(ls, a.Fingerprint)
			g := groups[key]
			if g == nil {
				g = &group{channel: d.Channel}
				groups[key] = g
			}
			g.alerts = append(g.alerts, a)
			if d.Oncall != "" && g.oncall == "" {
				g.oncall = d.Oncall
			}
		}
	}
	if len(routed) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(routed))
	for i, a := range routed {
		ids[i] = a.ID
	}
	if err := store.MarkRouted(ctx, tx, ids, now); err != nil {
		return nil, err
	}
	if len(groups) == 0 {
		n.log.Info("alerts routed to no channel", "count", len(routed))
	}
	keys := sortedGroupKeys(groups)
	for _, k := range keys {
		g := groups[k]
		sortAlerts(g.alerts)
		if err := n.enqueueAlertPost(ctx, tx, g.channel, g.alerts, roleFirst, g.oncall, now); err != nil {
			return nil, err
		}
	}
	if err := store.SetRouteGroupsSent(ctx, tx, keys, now, groupKeep); err != nil {
		return nil, err
	}
	n.groupSent(keys, now)
	// What was said in an alert's thread before its message existed (an
	// automatic action) follows it now, in every channel it went to. Few
	// alerts have such replies: find them in one query, not one per alert.
	deferred, err := store.DeferredFingerprints(ctx, tx)
	if err != nil {
		return nil, err
	}
	for _, a := range routed {
		if !deferred[a.Fingerprint] {
			continue
		}
		if err := n.threadDeferred(ctx, tx, a, now); err != nil {
			return nil, err
		}
	}
	return routed, nil
}

// releaseHolds shortens the hold of alerts whose target's maintenance
// ended sooner than planned (an action is held for its longest possible
// run; when it finishes, its window is cut to its end plus the grace).
func (n *Notifier) releaseHolds(ctx context.Context, tx store.DBTX, now time.Time) error {
	held, err := store.HeldAlerts(ctx, tx)
	if err != nil || len(held) == 0 {
		return err
	}
	maint := map[string]time.Time{}
	for _, a := range held {
		until, ok := maint[a.Target]
		if !ok {
			if until, err = maintenanceUntil(ctx, tx, a.Target); err != nil {
				return err
			}
			maint[a.Target] = until
		}
		if !until.Before(a.RouteAt.Time) {
			continue
		}
		if err := store.SetAlertPending(ctx, tx, a.ID, store.PendingHold, maxTime(until, now), nil); err != nil {
			return err
		}
	}
	return nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func maintenanceUntil(ctx context.Context, tx store.DBTX, target string) (time.Time, error) {
	raw, err := store.StateValue(ctx, tx, "maintenance:"+target)
	if errors.Is(err, store.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	var m struct {
		Until int64 `json:"until"`
	}
	if err := json.Unmarshal([]byte(raw), &m); err != nil || m.Until == 0 {
		return time.Time{}, nil
	}
	return time.UnixMilli(m.Until), nil
}

// repeat re-announces alerts still firing, unacknowledged, a repeat
// interval (their routes' repeat_interval, notifier.repeat by default)
// after they were last announced, in the channels of their first message;
// silenced and inhibited ones are skipped (and looked at again an interval
// later).
func (n *Notifier) repeat(ctx context.Context, tx store.DBTX, now time.Time) error {
	tree, err := n.tree(ctx, tx)
	if err != nil {
		return err
	}
	shortest := n.cfg().Notifier.Repeat
	tree.Root.Walk(func(r *routing.Route) {
		if r.RepeatInterval > 0 && r.RepeatInterval < shortest {
			shortest = r.RepeatInterval
		}
	})
	due, err := store.RepeatDue(ctx, tx, now.Add(-shortest))
	if err != nil || len(due) == 0 {
		return err
	}
	silences, err := n.activeSilences(ctx, tx, now)
	if err != nil {
		return err
	}
	inh, err := n.inhibitor(ctx, tx)
	if err != nil {
		return err
	}
	oncall := map[string]string{}
	var ids, live []int64
	byID := map[int64]store.AlertRow{}
	for _, a := range due {
		ls := Labels(a)
		dests := tree.Destinations(ls)
		every := n.cfg().Notifier.Repeat
		for i, d := range dests {
			if i == 0 || d.Route.RepeatInterval < every {
				every = d.Route.RepeatInterval
			}
			if d.Oncall != "" && oncall[d.Channel] == "" {
				oncall[d.Channel] = d.Oncall
			}
		}
		if every <= 0 || a.AnnouncedAt.After(now.Add(-every)) {
			continue
		}
		ids = append(ids, a.ID)
		if _, ok := silencedBy(silences, a); ok {
			continue
		}
		if inh != nil {
			if _, _, ok := inh.Inhibited(a.Fingerprint, ls); ok {
				continue
			}
		}
		live = append(live, a.ID)
		byID[a.ID] = a
	}
	msgs, err := store.MessagesOfAlerts(ctx, tx, live)
	if err != nil {
		return err
	}
	byChannel := map[string][]store.AlertRow{}
	seen := map[string]bool{}
	for _, m := range msgs {
		key := fmt.Sprint(m.Channel, "\x00", m.AlertID)
		if m.Role != roleFirst || seen[key] {
			continue
		}
		seen[key] = true
		byChannel[m.Channel] = append(byChannel[m.Channel], byID[m.AlertID])
	}
	for _, ch := range sortedKeys(byChannel) {
		as := byChannel[ch]
		sortAlerts(as)
		if err := n.enqueueAlertPost(ctx, tx, ch, as, roleRepeat, oncall[ch], now); err != nil {
			return err
		}
	}
	return store.SetAnnounced(ctx, tx, ids, now)
}

// enqueueAlertPost writes one message carrying alerts to channel.
func (n *Notifier) enqueueAlertPost(ctx context.Context, tx store.DBTX, channel string, alerts []store.AlertRow, role, oncall string, now time.Time) error {
	row := store.OutboxRow{Channel: channel, Op: store.OpPost, Owner: "alerts", Payload: "{}", CreatedAt: store.T(now)}
	if err := store.EnqueueOutbox(ctx, tx, &row); err != nil {
		return err
	}
	ids := make([]int64, len(alerts))
	for i, a := range alerts {
		ids[i] = a.ID
	}
	if err := store.AddAlertMessages(ctx, tx, row.ID, channel, role, ids); err != nil {
		return err
	}
	m := n.render(n.printer(ctx, tx, channel), alerts, row.ID, role, oncall, now, true)
	payload, err := encodeMessage(m)
	if err != nil {
		return err
	}
	return store.SetOutboxPayload(ctx, tx, row.ID, payload)
}

// announceResolved edits every message carrying the resolved alerts and
// replies in the thread of each first message.
func (n *Notifier) announceResolved(ctx context.Context, tx store.DBTX, ids []int64, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	msgs, err := store.MessagesOfAlerts(ctx, tx, ids)
	if err != nil {
		return err
	}
	if err := n.rerender(ctx, tx, msgs, now); err != nil {
		return err
	}
	// One reply per first message, listing its alerts resolved now.
	resolvedNow := map[int64]bool{}
	for _, id := range ids {
		resolvedNow[id] = true
	}
	byParent := map[int64][]int64{}
	var order []int64
	for _, m := range msgs {
		if m.Role != roleFirst || !resolvedNow[m.AlertID] {
			continue
		}
		if _, ok := byParent[m.OutboxID]; !ok {
			order = append(order, m.OutboxID)
		}
		byParent[m.OutboxID] = append(byParent[m.OutboxID], m.AlertID)
	}
	for _, parent := range order {
		post, err := store.OutboxByID(ctx, tx, parent)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if !post.ParkedAt.IsZero() {
			continue // never delivered: nothing to thread under
		}
		var alerts []store.AlertRow
		for _, id := range byParent[parent] {
			a, err := store.AlertByID(ctx, tx, id)
			if err != nil {
				return err
			}
			alerts = append(alerts, a)
		}
		channel := post.Channel
		if channel == "" {
			ref, err := store.RefOf(ctx, tx, parent)
			if err != nil {
				continue
			}
			channel = ref.Address
		}
		payload, err := encodeMessage(n.renderResolvedReply(n.printer(ctx, tx, channel), alerts, parent, now))
		if err != nil {
			return err
		}
		p := parent
		if err := store.EnqueueOutbox(ctx, tx, &store.OutboxRow{Channel: channel, Op: store.OpReply, ParentID: &p, Payload: payload, CreatedAt: store.T(now)}); err != nil {
			return err
		}
	}
	return nil
}

// rerender queues an edit of each message in msgs showing its alerts'
// current state; an edit not yet tried is replaced rather than queued twice.
func (n *Notifier) rerender(ctx context.Context, tx store.DBTX, msgs []store.AlertMessage, now time.Time) error {
	done := map[int64]bool{}
	for _, m := range msgs {
		if done[m.OutboxID] {
			continue
		}
		done[m.OutboxID] = true
		post, err := store.OutboxByID(ctx, tx, m.OutboxID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if !post.ParkedAt.IsZero() {
			continue
		}
		alerts, err := store.AlertsOfMessage(ctx, tx, m.OutboxID)
		if err != nil {
			return err
		}
		sortAlerts(alerts)
		payload, err := encodeMessage(n.render(n.printer(ctx, tx, m.Channel), alerts, m.OutboxID, m.Role, "", now, false))
		if err != nil {
			return err
		}
		if pend, err := store.PendingUpdate(ctx, tx, m.OutboxID); err == nil {
			if err := store.SetOutboxPayload(ctx, tx, pend.ID, payload); err != nil {
				return err
			}
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		parent := m.OutboxID
		if err := store.EnqueueOutbox(ctx, tx, &store.OutboxRow{Channel: m.Channel, Op: store.OpUpdate, ParentID: &parent, Payload: payload, CreatedAt: store.T(now)}); err != nil {
			return err
		}
	}
	return nil
}

func (n *Notifier) threadDeferred(ctx context.Context, tx store.DBTX, a store.AlertRow, now time.Time) error {
	replies, err := store.TakeDeferredReplies(ctx, tx, a.Fingerprint)
	if err != nil || len(replies) == 0 {
		return err
	}
	msgs, err := store.MessagesOfAlert(ctx, tx, a.ID)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if m.Role != roleFirst {
			continue
		}
		parent := m.OutboxID
		for _, r := range replies {
			if err := store.EnqueueOutbox(ctx, tx, &store.OutboxRow{Channel: m.Channel, Op: store.OpReply, Owner: "alert:" + a.Fingerprint,
				ParentID: &parent, Payload: r.Payload, CreatedAt: store.T(now)}); err != nil {
				return err
			}
		}
	}
	return nil
}
