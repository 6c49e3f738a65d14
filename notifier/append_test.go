package notifier_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"opsbot/alert"
	"opsbot/config"
	"opsbot/notifier"
	"opsbot/store"
	"opsbot/store/storetest"
)

// Many producers' Notify calls at once are written together, and every
// call's observations are in the inbox when it returns — the one carrying
// a NUL byte too (PostgreSQL refuses NUL in text; the store cleans it
// instead of losing the batch).
func TestConcurrentNotifyAllLand(t *testing.T) {
	ctx := context.Background()
	st := storetest.Postgres(t)
	cfg := config.Default()
	n := notifier.New(st, nil, func() *config.Config { return cfg }, slog.New(slog.DiscardHandler))
	src := n.Source("rules")
	const calls = 200
	errs := make([]error, calls)
	var wg sync.WaitGroup
	for i := range calls {
		fp := fmt.Sprintf("fp-%03d", i)
		if i == calls/2 {
			fp = "bad\x00fp"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = src.Notify(ctx, alert.Alert{Fingerprint: fp, Kind: "threshold", Rule: "cpu_high", Summary: "CPU 91 %", Value: 91},
				alert.Alert{Fingerprint: fp + "-b", Kind: "threshold", Rule: "cpu_high", Summary: "CPU 92 %", Value: 92})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	pending, _, err := store.InboxCounts(ctx, st.DB)
	if err != nil {
		t.Fatal(err)
	}
	if pending != 2*calls {
		t.Fatalf("%d observations in the inbox, want %d", pending, 2*calls)
	}
	var nul int
	if err := st.Get(ctx, &nul, `SELECT COUNT(*) FROM alert_inbox WHERE fingerprint LIKE 'bad%'`); err != nil {
		t.Fatal(err)
	}
	if nul != 2 {
		t.Fatalf("%d cleaned NUL observations stored, want 2", nul)
	}
}
