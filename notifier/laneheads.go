package notifier

import (
	"slices"
	"sync"
	"time"

	"opsbot/store"
)

// laneHeads is the dispatcher's copy of each lane's head row (the oldest
// pending row of a channel), kept in order of id. The whole set is read
// from the store when something outside the lanes queued rows (a Wake) and
// every maxSleep; a lane that finishes a send reads only its own next head
// (store.OutboxHead, one index probe). So a burst of n rows costs n small
// reads instead of n reads of every lane's head.
//
// The copy may be behind the store (another process sent a row, a rescan
// raced a lane's refresh): the claim decides, and a row whose claim fails
// makes its lane read its head again.
type laneHeads struct {
	mu      sync.Mutex
	byChan  map[string]store.OutboxRow
	order   []store.OutboxRow // by id
	scanned time.Time         // wall clock of the last full read
	stale   bool              // a full read is due
}

// reset replaces the whole set with heads (as store.OutboxHeads returns them, by id).
func (h *laneHeads) reset(heads []store.OutboxRow, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.byChan = make(map[string]store.OutboxRow, len(heads))
	h.order = h.order[:0]
	for _, r := range heads {
		h.byChan[r.Channel] = r
		h.order = append(h.order, r)
	}
	slices.SortFunc(h.order, func(a, b store.OutboxRow) int { return cmpID(a.ID, b.ID) })
	h.scanned, h.stale = at, false
}

func cmpID(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// set makes r channel's head; ok false empties the lane.
func (h *laneHeads) set(channel string, r store.OutboxRow, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if old, had := h.byChan[channel]; had {
		if i, found := slices.BinarySearchFunc(h.order, old.ID, func(e store.OutboxRow, id int64) int { return cmpID(e.ID, id) }); found {
			h.order = slices.Delete(h.order, i, i+1)
		}
		delete(h.byChan, channel)
	}
	if !ok {
		return
	}
	if h.byChan == nil {
		h.byChan = map[string]store.OutboxRow{}
	}
	i, found := slices.BinarySearchFunc(h.order, r.ID, func(e store.OutboxRow, id int64) int { return cmpID(e.ID, id) })
	if found {
		// The same row is another channel's head in a stale copy: the
		// newer reading wins.
		delete(h.byChan, h.order[i].Channel)
		h.order[i] = r
	} else {
		h.order = slices.Insert(h.order, i, r)
	}
	h.byChan[channel] = r
}

// markStale asks for a full read at the next dispatch.
func (h *laneHeads) markStale() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stale = true
}

// needScan reports whether the set must be read again at wall time now.
func (h *laneHeads) needScan(now time.Time, every time.Duration) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stale || h.byChan == nil || now.Sub(h.scanned) >= every
}

// each calls fn with every head, oldest first, until fn returns false.
func (h *laneHeads) each(fn func(r store.OutboxRow) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.order {
		if !fn(r) {
			return
		}
	}
}
