package discord

import (
	"strconv"
	"testing"
)

// BenchmarkRank1000 is the work of one keystroke over 1,000 candidates.
func BenchmarkRank1000(b *testing.B) {
	cands := make([]Choice, 1000)
	for i := range cands {
		cands[i] = Choice{Value: strconv.Itoa(1000 - i), Label: "#" + strconv.Itoa(1000-i) + " API down"}
	}
	b.ReportAllocs()
	for b.Loop() {
		if got := rank(cands, "4", false); len(got) != maxChoices {
			b.Fatalf("%d choices", len(got))
		}
	}
}
