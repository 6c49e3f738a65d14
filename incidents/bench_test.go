package incidents_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"opsbot/store/storetest"
)

// One reminder pass over 200 open incidents, none due (the common case).
func BenchmarkTickNothingDue(b *testing.B) {
	st := storetest.SQLite(b)
	e := newEnv(b, st)
	ctx := context.Background()
	for i := range 200 {
		if _, _, err := e.svc.OpenOrAttach(ctx, fmt.Sprint("t", i), "down", "critical", "alert:x"); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if err := e.svc.Tick(ctx, at(time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
}
