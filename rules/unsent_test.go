package rules

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"opsbot/alert"
)

// batchSink refuses everything while fail is set, and records the size of
// each call it takes.
type batchSink struct {
	mu      sync.Mutex
	fail    bool
	batches []int
	got     []alert.Alert
}

func (s *batchSink) Notify(_ context.Context, alerts ...alert.Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("outbox down")
	}
	s.batches = append(s.batches, len(alerts))
	s.got = append(s.got, alerts...)
	return nil
}

// churnSource finds n new problems at every collection, so the previous
// ones resolve: 2n observations per evaluation, all of new conditions.
type churnSource struct {
	n, round int
}

func (c *churnSource) Name() string { return "churn" }

func (c *churnSource) Collect(context.Context, time.Time) (Output, error) {
	c.round++
	var out Output
	for i := range c.n {
		out.Findings = append(out.Findings, Finding{Rule: "churn", Target: fmt.Sprintf("r%d-%d", c.round, i), Severity: "warning", Summary: "x"})
	}
	return out, nil
}

// While the sink is down the unsent backlog stays within its bound, keeping
// the newest; when the sink is back one evaluation drains it in batches.
func TestUnsentIsBoundedAndDrains(t *testing.T) {
	sink := &batchSink{fail: true}
	e := NewEngine(nil, sink, nil, quiet)
	e.MaxUnsent, e.UnsentBatch = 300, 40
	src := &churnSource{n: 50}
	e.Add(GroupSecurity, src)
	now := t0
	for i := range 40 {
		if err := e.Scan(context.Background(), now); err == nil {
			t.Fatalf("scan %d: the sink's refusal was not reported", i)
		}
		e.mu.Lock()
		n := len(e.unsent)
		e.mu.Unlock()
		if n > 300 {
			t.Fatalf("after scan %d: %d unsent, bound 300", i, n)
		}
		now = now.Add(time.Minute)
	}
	e.mu.Lock()
	if n := firingOf(e.unsent, "r40-"); n != 50 {
		t.Fatalf("the last scan's 50 new problems are not all kept: %d", n)
	}
	e.mu.Unlock()

	sink.mu.Lock()
	sink.fail = false
	sink.mu.Unlock()
	if err := e.Scan(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	left := len(e.unsent)
	e.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d alerts still unsent after the sink recovered", left)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	total := 0
	for _, b := range sink.batches {
		if b > 40 {
			t.Fatalf("a batch of %d alerts, want at most 40", b)
		}
		total += b
	}
	// The 300 kept, then this scan's 50 resolutions and 50 new problems.
	if total != 400 || len(sink.batches) != 10 {
		t.Fatalf("delivered %d alerts in %d batches, want 400 in 10", total, len(sink.batches))
	}
	if n := firingOf(sink.got, "r41-"); n != 50 {
		t.Fatalf("%d of this scan's 50 new problems delivered", n)
	}
}

// firingOf counts the firing alerts whose target starts with prefix.
func firingOf(alerts []alert.Alert, prefix string) int {
	n := 0
	for _, a := range alerts {
		if a.Status == alert.Firing && strings.HasPrefix(a.Target, prefix) {
			n++
		}
	}
	return n
}

// sevSource reports one problem whose severity flips at every collection.
type sevSource struct{ round int }

func (s *sevSource) Name() string { return "flappy" }

func (s *sevSource) Collect(context.Context, time.Time) (Output, error) {
	s.round++
	sev := []string{"warning", "critical"}[s.round%2]
	return Output{Findings: []Finding{{Rule: "cert", Target: "api", Severity: sev, Summary: fmt.Sprintf("round %d", s.round)}}}, nil
}

// A condition announced again and again while the sink is down (a changing
// severity) is kept once, with its latest news.
func TestUnsentKeepsTheLatestOfACondition(t *testing.T) {
	sink := &batchSink{fail: true}
	e := NewEngine(nil, sink, nil, quiet)
	e.Add(GroupSecurity, &sevSource{})
	now := t0
	for range 25 {
		_ = e.Scan(context.Background(), now)
		now = now.Add(time.Minute)
	}
	e.mu.Lock()
	unsent := append([]alert.Alert(nil), e.unsent...)
	e.mu.Unlock()
	if len(unsent) != 1 || unsent[0].Summary != "round 25" || unsent[0].Severity != "critical" {
		t.Fatalf("unsent %+v, want only round 25's critical", unsent)
	}
}
