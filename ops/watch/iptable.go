package watch

// ipCounts counts per IPv4 address in an open-addressing table: a Go map
// spends most of a pass hashing and probing, this is a multiply, a mask and
// usually one compare in one cache line (key and count side by side).
// Key 0 (0.0.0.0) is kept aside as the empty marker. Counts are uint32: a
// window would need four billion requests from one address to wrap.
type ipCounts struct {
	slots []ipSlot
	n     int
	zero  int64
}

type ipSlot struct{ key, n uint32 }

func newIPCounts(size int) *ipCounts {
	c := 1
	for c < size*2 {
		c <<= 1
	}
	return &ipCounts{slots: make([]ipSlot, c)}
}

// Add adds d to ip's count.
func (t *ipCounts) Add(ip uint32, d int64) {
	if ip == 0 {
		t.zero += d
		return
	}
	mask := uint32(len(t.slots) - 1)
	for i := (ip * 2654435769) >> 7 & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.key == ip {
			s.n += uint32(d)
			return
		}
		if s.key == 0 {
			s.key, s.n = ip, uint32(d)
			t.n++
			if t.n*2 > len(t.slots) {
				t.grow()
			}
			return
		}
	}
}

func (t *ipCounts) grow() {
	old := t.slots
	t.slots, t.n = make([]ipSlot, 2*len(old)), 0
	for _, s := range old {
		if s.key != 0 {
			t.Add(s.key, int64(s.n))
		}
	}
}

// Get returns ip's count.
func (t *ipCounts) Get(ip uint32) int64 {
	if ip == 0 {
		return t.zero
	}
	mask := uint32(len(t.slots) - 1)
	for i := (ip * 2654435769) >> 7 & mask; ; i = (i + 1) & mask {
		switch t.slots[i].key {
		case ip:
			return int64(t.slots[i].n)
		case 0:
			return 0
		}
	}
}

// Len is the number of distinct addresses.
func (t *ipCounts) Len() int {
	if t.zero != 0 {
		return t.n + 1
	}
	return t.n
}

// Each calls fn for every address and count.
func (t *ipCounts) Each(fn func(ip uint32, n int64)) {
	if t.zero != 0 {
		fn(0, t.zero)
	}
	for _, s := range t.slots {
		if s.key != 0 {
			fn(s.key, int64(s.n))
		}
	}
}
