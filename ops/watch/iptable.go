package watch

// ipCounts counts per IPv4 address in an open-addressing table: a Go map
// spends most of a pass hashing and probing, this is a multiply, a mask and
// usually one compare. Key 0 (0.0.0.0) is kept aside as the empty marker.
type ipCounts struct {
	keys []uint32
	vals []int64
	n    int
	zero int64
}

func newIPCounts(size int) *ipCounts {
	c := 1
	for c < size*2 {
		c <<= 1
	}
	return &ipCounts{keys: make([]uint32, c), vals: make([]int64, c)}
}

func (t *ipCounts) slot(ip uint32) uint32 {
	return (ip * 2654435769) >> 7
}

// Add adds d to ip's count.
func (t *ipCounts) Add(ip uint32, d int64) {
	if ip == 0 {
		t.zero += d
		return
	}
	mask := uint32(len(t.keys) - 1)
	for i := t.slot(ip) & mask; ; i = (i + 1) & mask {
		switch t.keys[i] {
		case ip:
			t.vals[i] += d
			return
		case 0:
			t.keys[i], t.vals[i] = ip, d
			t.n++
			if t.n*2 > len(t.keys) {
				t.grow()
			}
			return
		}
	}
}

func (t *ipCounts) grow() {
	old, oldv := t.keys, t.vals
	t.keys, t.vals, t.n = make([]uint32, 2*len(old)), make([]int64, 2*len(old)), 0
	for i, k := range old {
		if k != 0 {
			t.Add(k, oldv[i])
		}
	}
}

// Get returns ip's count.
func (t *ipCounts) Get(ip uint32) int64 {
	if ip == 0 {
		return t.zero
	}
	mask := uint32(len(t.keys) - 1)
	for i := t.slot(ip) & mask; ; i = (i + 1) & mask {
		switch t.keys[i] {
		case ip:
			return t.vals[i]
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
	for i, k := range t.keys {
		if k != 0 {
			fn(k, t.vals[i])
		}
	}
}
