package watch

import "slices"

// MaxTrackedIPs bounds the addresses one per-IP table keeps (per log, per
// pass and per window), so a scan from a million addresses cannot grow the
// bot's memory: at most about 2 × MaxTrackedIPs × 12 bytes a table.
const MaxTrackedIPs = 1 << 14

// ipCounts counts per IPv4 address in an open-addressing table: a Go map
// spends most of a pass hashing and probing, this is a multiply, a mask and
// usually one compare in one cache line (key and count side by side).
// Key 0 (0.0.0.0) is kept aside as the empty marker.
//
// The table is bounded (space-saving, Metwally et al. 2005, evicting in
// batches): when a new address would make it hold more than limit, the
// half with the smallest counts is dropped, and floor becomes the largest
// count dropped. An address counted afterwards starts at floor (it may
// have been among the dropped): n over-estimates its true count, and n-err
// is a count it certainly reached. What is dropped has n at most the
// median, and the median of limit counts summing to at most N (the lines
// counted) is at most 2N/limit: an address seen more than 2N/limit times
// is never dropped — the heavy hitters an alert is about stay, with their
// counts, and the addresses dropped are each below that share.
type ipCounts struct {
	slots []ipSlot
	n     int
	limit int    // most addresses kept (0: unbounded)
	floor uint32 // largest count dropped so far
	zero  int64
}

// ipSlot: n over-estimates the address's count by at most err. Counts are
// uint32: a window would need four billion lines from one address to wrap.
type ipSlot struct{ key, n, err uint32 }

func newIPCounts(size int) *ipCounts {
	c := 1
	for c < size*2 {
		c <<= 1
	}
	return &ipCounts{slots: make([]ipSlot, c), limit: MaxTrackedIPs}
}

// Add adds d to ip's count.
func (t *ipCounts) Add(ip uint32, d int64) { t.add(ip, uint32(d), 0) }

func (t *ipCounts) add(ip, d, err uint32) {
	if ip == 0 {
		t.zero += int64(d)
		return
	}
	mask := uint32(len(t.slots) - 1)
	for i := (ip * 2654435769) >> 7 & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.key == ip {
			s.n += d
			s.err += err
			return
		}
		if s.key == 0 {
			if t.limit > 0 && t.n >= t.limit {
				t.evict()
				t.add(ip, d, err)
				return
			}
			s.key, s.n, s.err = ip, t.floor+d, t.floor+err
			t.n++
			if t.n*2 > len(t.slots) {
				t.resize(2 * len(t.slots))
			}
			return
		}
	}
}

// evict drops the half of the addresses with the smallest counts.
func (t *ipCounts) evict() {
	counts := make([]uint32, 0, t.n)
	for _, s := range t.slots {
		if s.key != 0 {
			counts = append(counts, s.n)
		}
	}
	slices.Sort(counts)
	median := counts[len(counts)/2]
	for i := range t.slots {
		if s := &t.slots[i]; s.key != 0 && s.n <= median {
			*s = ipSlot{}
			t.n--
		}
	}
	t.floor = max(t.floor, median)
	t.resize(len(t.slots)) // rehash: open addressing has no holes to leave
}

func (t *ipCounts) resize(size int) {
	old := t.slots
	t.slots, t.n = make([]ipSlot, size), 0
	floor, limit := t.floor, t.limit
	t.floor, t.limit = 0, 0 // survivors keep their own counts
	for _, s := range old {
		if s.key != 0 {
			t.add(s.key, s.n, s.err)
		}
	}
	t.floor, t.limit = floor, limit
}

// Merge adds o's counts. An address missing from one side may have been
// dropped there: it is credited that side's floor, as over-estimate only
// (err grows by as much), so n-err stays a count it certainly reached.
func (t *ipCounts) Merge(o *ipCounts) {
	if o.floor > 0 {
		for i := range t.slots {
			if s := &t.slots[i]; s.key != 0 && !o.has(s.key) {
				s.n += o.floor
				s.err += o.floor
			}
		}
	}
	for _, s := range o.slots {
		if s.key != 0 {
			t.add(s.key, s.n, s.err) // a new key starts at t's floor
		}
	}
	t.zero += o.zero
	t.floor += o.floor
}

func (t *ipCounts) has(ip uint32) bool {
	mask := uint32(len(t.slots) - 1)
	for i := (ip * 2654435769) >> 7 & mask; ; i = (i + 1) & mask {
		switch t.slots[i].key {
		case ip:
			return true
		case 0:
			return false
		}
	}
}

// Get returns the count ip certainly reached (0 when not kept).
func (t *ipCounts) Get(ip uint32) int64 {
	if ip == 0 {
		return t.zero
	}
	mask := uint32(len(t.slots) - 1)
	for i := (ip * 2654435769) >> 7 & mask; ; i = (i + 1) & mask {
		switch t.slots[i].key {
		case ip:
			return int64(t.slots[i].n - t.slots[i].err)
		case 0:
			return 0
		}
	}
}

// Len is the number of distinct addresses kept.
func (t *ipCounts) Len() int {
	if t.zero != 0 {
		return t.n + 1
	}
	return t.n
}

// Each calls fn for every address kept and the count it certainly reached.
func (t *ipCounts) Each(fn func(ip uint32, n int64)) {
	if t.zero != 0 {
		fn(0, t.zero)
	}
	for _, s := range t.slots {
		if s.key != 0 {
			fn(s.key, int64(s.n-s.err))
		}
	}
}
