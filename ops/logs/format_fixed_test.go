package logs

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// ParseISO's shortcut for a fixed offset must accept exactly the dates
// the general check (time.Date normalised back) accepts.
func TestParseISOFixedOffsetAgreesWithExactDate(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	zones := []string{"Z", "+00:00", "+08:00", "-05:30", "+1400"}
	for i := 0; i < 200000; i++ {
		y := []int{1900, 2000, 2023, 2024, 2100, 2400, r.IntN(10000)}[r.IntN(7)]
		mo, d := 1+r.IntN(12), 1+r.IntN(31)
		h, mi, s := r.IntN(24), r.IntN(60), r.IntN(61)
		z := zones[r.IntN(len(zones))]
		line := fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d.123%s INFO x", y, mo, d, h, mi, s, z)
		got, n, ok := ParseISO([]byte(line), time.Local)
		off, _, _ := parseOffset([]byte(z))
		if z == "Z" {
			off = 0
		}
		want, wok := exactDate(y, mo, d, h, mi, s, 123000000, fixedZone(off))
		if ok != wok || (ok && !got.Equal(want)) {
			t.Fatalf("%s: got %v %v, want %v %v", line, got, ok, want, wok)
		}
		if ok && line[n] != ' ' {
			t.Fatalf("%s: stopped at %d", line, n)
		}
	}
}
