package watch

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestIPCountsBoundedKeepsHeavyHitters streams a million counts from 300,000
// addresses through a bounded table (per worker, then merged, as a pass
// does): memory stays bounded, no heavy hitter is dropped, and every count
// reported is one the address certainly reached.
func TestIPCountsBoundedKeepsHeavyHitters(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	truth := map[uint32]int64{}
	parts := []*ipCounts{newIPCounts(256), newIPCounts(256)}
	var total int64
	for i := range 1_000_000 {
		var ip uint32
		if r.IntN(4) == 0 {
			ip = 10<<24 | uint32(r.IntN(20)) + 1 // 20 heavy hitters, ~12,500 each
		} else {
			ip = 172<<24 | uint32(r.IntN(300_000)) + 1
		}
		truth[ip]++
		total++
		parts[i%2].Add(ip, 1)
	}
	for _, p := range parts {
		if p.Len() > MaxTrackedIPs || len(p.slots) > 4*MaxTrackedIPs {
			t.Fatalf("table grew to %d addresses, %d slots", p.Len(), len(p.slots))
		}
	}
	all := newIPCounts(256)
	all.Merge(parts[0])
	all.Merge(parts[1])
	bound := 2 * total / MaxTrackedIPs
	heavy := 0
	for ip, n := range truth {
		got := all.Get(ip)
		if got > n {
			t.Fatalf("%s: reported %d, true count %d", FormatIPv4(ip), got, n)
		}
		if n > 4*bound {
			heavy++
			if got == 0 || n-got > 2*bound {
				t.Fatalf("heavy hitter %s (%d) reported %d", FormatIPv4(ip), n, got)
			}
		}
	}
	if heavy != 20 {
		t.Fatalf("%d heavy hitters, want 20", heavy)
	}
	if all.floor == 0 {
		t.Fatal("the stream never filled the table: the bound was not exercised")
	}
}

// TestIPCountsExactBelowLimit: below the limit nothing is dropped and
// counts are exact.
func TestIPCountsExactBelowLimit(t *testing.T) {
	c := newIPCounts(4)
	for i := range uint32(1000) {
		c.Add(i+1, int64(i%7+1))
	}
	c.Add(0, 3)
	for i := range uint32(1000) {
		if got := c.Get(i + 1); got != int64(i%7+1) {
			t.Fatalf("%d: %d", i+1, got)
		}
	}
	if c.Len() != 1001 || c.Get(0) != 3 || c.floor != 0 {
		t.Fatalf("len %d zero %d floor %d", c.Len(), c.Get(0), c.floor)
	}
}

// TestLineIPAgreesWithNetip checks the allocation-free reading of a line's
// address against the plain netip one it replaced.
func TestLineIPAgreesWithNetip(t *testing.T) {
	ref := func(line []byte) string {
		for f := range bytes.FieldsSeq(line) {
			f = bytes.Trim(f, "[](),;\"'")
			if k, v, ok := bytes.Cut(f, []byte("=")); ok && len(v) > 0 && len(k) > 0 {
				f = v
			}
			if a, err := netip.ParseAddr(string(f)); err == nil {
				return a.String()
			}
			if ap, err := netip.ParseAddrPort(string(f)); err == nil {
				return ap.Addr().String()
			}
		}
		return ""
	}
	for _, l := range []string{
		"2026-11-25T10:00:00+08:00 WARN login failed for bob from 10.0.0.7",
		"10.1.2.3 login failed",
		"2026-11-25T10:00:00+08:00 login failed ip=203.0.113.5 user=x",
		"login failed from [2001:db8::1]:443 now",
		"login failed from (2001:db8::1), again",
		"login failed from fe80::1%eth0",
		"login failed from 010.1.1.1 then 1.2.3.4",
		"login failed from 1.2.3.4:8080",
		"login failed from 256.1.1.1",
		"login failed from ::ffff:1.2.3.4",
		"login failed deadbeef cafe",
		"no address here at all",
		"'192.168.0.1';",
		"login failed for usér from 10.0.0.9",
		"login failed from\u00a010.0.0.8\u00a0now",
		"x\u20031.2.3.4\u2003y 5.6.7.8",
		"\xff\xfe 10.0.0.6",
		"a\tb\v10.0.0.5\fc",
	} {
		v4, other, ok := lineIP([]byte(l))
		got := other
		if ok && other == "" {
			got = FormatIPv4(v4)
		}
		if want := ref([]byte(l)); got != want {
			t.Errorf("%q: %q, netip says %q", l, got, want)
		}
	}
}
