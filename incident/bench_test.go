package incident

import (
	"fmt"
	"testing"
	"time"
)

// A long incident: 5,000 timeline entries (alerts, commands, notes).
func BenchmarkRenderPostMortem(b *testing.B) {
	inc, tl, now := scripted()
	base := tl[len(tl)-1].At
	for i := range 5000 {
		kind := []Kind{KindAlert, KindCommand, KindNote, KindAction}[i%4]
		tl = append(tl, Entry{At: base.Add(time.Duration(i) * time.Second), Actor: "slack:U1", Kind: kind, Ref: fmt.Sprint("fp", i%50), Status: "firing", Text: "something happened | again"})
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = RenderPostMortem(inc, tl, now)
	}
}
