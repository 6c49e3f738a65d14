package notifier

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"opsbot/chat"
	"opsbot/store"
	"opsbot/textclip"
)

// Send queues m as owner's message in channel ("slack:C123"). It is
// written to the outbox before anything is tried; the worker delivers it.
func (n *Notifier) Send(ctx context.Context, channel, owner string, m chat.Message) error {
	payload, err := encodeMessage(m)
	if err != nil {
		return err
	}
	if err := store.EnqueueOutbox(ctx, n.st.DB, &store.OutboxRow{Channel: channel, Op: store.OpPost, Owner: owner, Payload: payload, CreatedAt: store.T(n.Now())}); err != nil {
		return fmt.Errorf("send to %s: %w", channel, err)
	}
	n.poke()
	return nil
}

// Update edits owner's first message in every channel it went to. For
// "alert:<fingerprint>" that is the first message of its latest episode.
func (n *Notifier) Update(ctx context.Context, owner string, m chat.Message) error {
	return n.follow(ctx, owner, store.OpUpdate, m)
}

// Reply posts m in the thread of owner's first message in every channel.
// For "alert:<fingerprint>" that is the message that announced the alert.
func (n *Notifier) Reply(ctx context.Context, owner string, m chat.Message) error {
	return n.follow(ctx, owner, store.OpReply, m)
}

func (n *Notifier) follow(ctx context.Context, owner, op string, m chat.Message) error {
	payload, err := encodeMessage(m)
	if err != nil {
		return err
	}
	now := n.Now()
	err = n.st.Tx(ctx, func(tx *sqlx.Tx) error {
		parents, err := n.firstPosts(ctx, tx, owner)
		if err != nil {
			return err
		}
		if len(parents) == 0 {
			if fp, ok := strings.CutPrefix(owner, "alert:"); ok && op == store.OpReply {
				// The alert's message is not out yet: thread it there later.
				return store.DeferReply(ctx, tx, fp, payload, now)
			}
			n.log.Debug("nothing to "+op+": owner has no message", "owner", owner)
			return nil
		}
		for _, ch := range sortedKeys(parents) {
			parent := parents[ch]
			if op == store.OpUpdate {
				if pend, err := store.PendingUpdate(ctx, tx, parent); err == nil {
					if err := store.SetOutboxPayload(ctx, tx, pend.ID, payload); err != nil {
						return err
					}
					continue
				}
			}
			if err := store.EnqueueOutbox(ctx, tx, &store.OutboxRow{Channel: ch, Op: op, Owner: owner, ParentID: &parent, Payload: payload, CreatedAt: store.T(now)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, owner, err)
	}
	n.poke()
	return nil
}

func (n *Notifier) firstPosts(ctx context.Context, tx store.DBTX, owner string) (map[string]int64, error) {
	fp, ok := strings.CutPrefix(owner, "alert:")
	if !ok {
		return store.FirstPosts(ctx, tx, owner)
	}
	a, err := store.LatestAlert(ctx, tx, fp)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	msgs, err := store.MessagesOfAlert(ctx, tx, a.ID)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, m := range msgs {
		if _, seen := out[m.Channel]; !seen && m.Role == roleFirst {
			out[m.Channel] = m.OutboxID
		}
	}
	return out, nil
}

// Drain makes one delivery attempt for the head row of every channel that
// is due, repeating while rows are due, one row at a time, and returns when
// the next row will be due (zero when the outbox is empty). Run delivers
// through the lanes instead; tests call Drain with an injected clock. It
// returns ErrFenced when Fence refused a send.
func (n *Notifier) Drain(ctx context.Context) (time.Time, error) {
	for {
		heads, err := store.OutboxHeads(ctx, n.st.DB)
		if err != nil {
			return time.Time{}, err
		}
		var next time.Time
		progress := false
		for _, r := range heads {
			if ctx.Err() != nil {
				return time.Time{}, ctx.Err()
			}
			if due := n.dueAt(r); due.After(n.Now()) {
				if next.IsZero() || due.Before(next) {
					next = due
				}
				continue
			}
			if !n.lanes.take(r.Channel) {
				continue // a lane of Run is sending to this channel
			}
			claimed, err := n.deliverHead(ctx, r)
			n.lanes.release(r.Channel)
			if err != nil {
				return time.Time{}, err
			}
			// Delivered, parked or rescheduled: either way look at the heads again.
			progress = progress || claimed
		}
		if !progress {
			return next, nil
		}
	}
}

// dueAt is when row r may be tried: its next attempt, the channel's
// retry-after, or when another process's claim on it lapses.
func (n *Notifier) dueAt(r store.OutboxRow) time.Time {
	due := r.NextAt.Time
	if h := n.heldUntil(r.Channel); h.After(due) {
		due = h
	}
	if r.ClaimedBy != "" && r.ClaimedUntil.After(due) {
		due = r.ClaimedUntil.Time
	}
	return due
}

func (n *Notifier) heldUntil(channel string) time.Time {
	n.holdMu.Lock()
	defer n.holdMu.Unlock()
	return n.hold[channel]
}

func (n *Notifier) holdChannel(channel string, until time.Time) {
	n.holdMu.Lock()
	defer n.holdMu.Unlock()
	if until.After(n.hold[channel]) {
		n.hold[channel] = until
	}
}

func toChat(r store.MessageRef) chat.Ref {
	return chat.Ref{Platform: r.Platform, Channel: r.Channel, ID: r.MessageID, Thread: r.ThreadID}
}

// ErrFenced says a send was skipped because Fence refused it: this process
// may no longer deliver (another replica leads).
var ErrFenced = errors.New("delivery fenced: this replica does not lead")

// deliverHead claims row r (the head of its channel) and makes one attempt
// at it. It reports whether it got the claim; an error means nothing was
// recorded for the row (the store failed, Fence refused, ctx ended), and
// the claim is handed back so the next sender need not wait for it to lapse.
func (n *Notifier) deliverHead(ctx context.Context, r store.OutboxRow) (bool, error) {
	holder := n.lanes.id()
	now := n.Now()
	ok, err := store.ClaimOutbox(ctx, n.st.DB, r.ID, holder, now, now.Add(claimLease))
	if err != nil || !ok {
		return false, err
	}
	stop := n.keepClaim(ctx, r.ID, holder)
	err = n.deliver(ctx, r)
	stop()
	if err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if rerr := store.ReleaseClaim(rctx, n.st.DB, r.ID, holder); rerr != nil {
			n.log.Warn("outbox claim not released; it lapses by itself", "id", r.ID, "err", rerr)
		}
	}
	return true, err
}

// deliver makes one attempt at row r and records the outcome (delivered,
// parked or rescheduled). An error means no outcome was recorded: the store
// failed, Fence refused the send, or ctx ended; the platform's failures are
// recorded, not returned.
func (n *Notifier) deliver(ctx context.Context, r store.OutboxRow) error {
	m, err := decodeMessage(r.Payload)
	if err != nil {
		return store.Park(ctx, n.st.DB, r.ID, n.Now(), err.Error())
	}
	m.Key = strconv.FormatInt(r.ID, 10)
	var parent chat.Ref
	if r.Op != store.OpPost {
		if r.ParentID == nil {
			return store.Park(ctx, n.st.DB, r.ID, n.Now(), "no message to "+r.Op)
		}
		ref, err := store.RefOf(ctx, n.st.DB, *r.ParentID)
		if errors.Is(err, store.ErrNotFound) {
			// Rows of a channel go in order, so the parent was parked (or
			// sent elsewhere and lost): there is nothing to edit or thread under.
			return store.Park(ctx, n.st.DB, r.ID, n.Now(), fmt.Sprintf("message %d to %s was never delivered", *r.ParentID, r.Op))
		}
		if err != nil {
			return err
		}
		parent = toChat(ref)
	}
	sctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	// An earlier attempt may have reached the platform before we could mark
	// it (a crash, a timeout): ask before sending again.
	if r.Attempts > 0 && r.Op != store.OpUpdate {
		if f, ok := n.poster.(chat.Finder); ok {
			ref, found, err := findSent(sctx, f, r, parent, m.Key, n.Now())
			if err == nil && found {
				n.log.Info("outbox row found already delivered", "id", r.ID, "channel", r.Channel)
				return n.markDelivered(ctx, r, ref)
			}
			if err != nil && ctx.Err() == nil {
				n.log.Warn("lookup before resend failed", "id", r.ID, "err", err)
			}
		}
	}
	if n.Fence != nil && !n.Fence() {
		return ErrFenced
	}
	if err := store.MarkAttempt(ctx, n.st.DB, r.ID, n.Now()); err != nil {
		return err
	}
	var ref chat.Ref
	switch r.Op {
	case store.OpPost:
		ref, err = n.poster.Post(sctx, r.Channel, m)
	case store.OpUpdate:
		m.Mentions = nil
		err = n.poster.Update(sctx, parent, m)
	case store.OpReply:
		ref, err = n.poster.Reply(sctx, parent, m)
	default:
		return store.Park(ctx, n.st.DB, r.ID, n.Now(), "unknown op "+r.Op)
	}
	if err == nil {
		return n.markDelivered(ctx, r, ref)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return n.failed(ctx, r, err)
}

func (n *Notifier) markDelivered(ctx context.Context, r store.OutboxRow, ref chat.Ref) error {
	var mr *store.MessageRef
	if r.Op == store.OpPost {
		if ref.ID == "" {
			n.log.Warn("platform returned no message reference", "id", r.ID, "channel", r.Channel)
		}
		mr = &store.MessageRef{Platform: ref.Platform, Channel: ref.Channel, MessageID: ref.ID, ThreadID: ref.Thread}
	}
	// The mark must survive a cancelled context: the message is out.
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return n.st.MarkDelivered(mctx, r, mr, n.Now())
}

// failed records a failed attempt at r by the one retry policy every lane
// shares: park at once on a permanent error, wait as the platform said on a
// retry-after (not counted as a failure), otherwise back off with jitter and
// park after MaxAttempts failures.
func (n *Notifier) failed(ctx context.Context, r store.OutboxRow, sendErr error) error {
	now := n.Now()
	cfg := n.cfg().Notifier
	msg := textclip.Bytes(sendErr.Error(), 500, "")
	if errors.Is(sendErr, chat.ErrPermanent) {
		n.log.Error("notification parked: permanent failure", "id", r.ID, "channel", r.Channel, "err", msg)
		return store.Park(ctx, n.st.DB, r.ID, now, msg)
	}
	if d, ok := chat.RetryAfter(sendErr); ok {
		d = max(d, 50*time.Millisecond)
		// The platform said when; this is pacing, not failure, so it does not
		// count towards parking.
		n.holdChannel(r.Channel, now.Add(d))
		return store.MarkRetry(ctx, n.st.DB, r.ID, now.Add(d), msg, false)
	}
	failures := r.Failures + 1
	if failures >= cfg.MaxAttempts {
		n.log.Error("notification parked after repeated failures", "id", r.ID, "channel", r.Channel, "failures", failures, "err", msg)
		return store.Park(ctx, n.st.DB, r.ID, now, msg)
	}
	n.log.Warn("notification failed, will retry", "id", r.ID, "channel", r.Channel, "failures", failures, "err", msg)
	return store.MarkRetry(ctx, n.st.DB, r.ID, now.Add(n.backoff(failures)), msg, true)
}

// backoff is capped exponential with full jitter on the upper half:
// base·2^(k-1), capped at RetryMax, then scaled by [0.5, 1).
func (n *Notifier) backoff(k int) time.Duration {
	cfg := n.cfg().Notifier
	d := float64(cfg.RetryBase) * math.Pow(2, float64(k-1))
	if d > float64(cfg.RetryMax) || math.IsInf(d, 0) {
		d = float64(cfg.RetryMax)
	}
	return time.Duration(d * (0.5 + n.Jitter()/2))
}

// findSent looks for an earlier attempt's message: within the row's window
// (created, minus clock skew, to now) where the poster can bound its search.
// A reply is looked for in its parent's thread, which the channel's
// history does not hold.
func findSent(ctx context.Context, f chat.Finder, r store.OutboxRow, parent chat.Ref, key string, now time.Time) (chat.Ref, bool, error) {
	const skew = time.Minute
	from := r.CreatedAt.Add(-skew)
	if r.CreatedAt.IsZero() {
		from = now.Add(-24 * time.Hour)
	}
	if tf, ok := f.(chat.ThreadFinder); ok && r.Op == store.OpReply {
		return tf.FindReplyByKey(ctx, parent, key, from, now.Add(skew))
	}
	if wf, ok := f.(chat.WindowFinder); ok && !r.CreatedAt.IsZero() {
		return wf.FindByKeyBetween(ctx, r.Channel, key, from, now.Add(skew))
	}
	return f.FindByKey(ctx, r.Channel, key)
}
