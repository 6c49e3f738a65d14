package notifier

import (
	"context"
	"time"

	"opsbot/store"
)

// groupKeep is how long a group's last announcement is remembered: longer
// than any sensible group_interval.
const groupKeep = 24 * time.Hour

// loadGroupsSent fills the group_interval memory from the store once per
// term of leadership: a new leader (or a restarted one) holds back a group
// announced by the last one as that one would have.
func (n *Notifier) loadGroupsSent(ctx context.Context, tx store.DBTX, now time.Time) error {
	c := &n.routes
	c.mu.Lock()
	loaded := c.sentLoaded
	c.mu.Unlock()
	if loaded {
		return nil
	}
	m, err := store.RouteGroupsSince(ctx, tx, now.Add(-groupKeep))
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sent == nil {
		c.sent = map[string]time.Time{}
	}
	for k, t := range m {
		if t.After(c.sent[k]) {
			c.sent[k] = t
		}
	}
	c.sentLoaded = true
	return nil
}

// forgetGroupsSent makes the next routing step read the store again (a new
// term of leadership: another leader may have announced meanwhile).
func (n *Notifier) forgetGroupsSent() {
	c := &n.routes
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sentLoaded = false
}
