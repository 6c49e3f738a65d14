package ops

import (
	"context"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
)

func TestHostSample(t *testing.T) {
	h := &Host{DiskPath: t.TempDir(), Window: 50 * time.Millisecond}
	s, err := h.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]float64{"cpu": s.CPU, "mem": s.Mem, "disk": s.Disk} {
		if v < 0 || v > 100 {
			t.Errorf("%s = %v, out of 0..100", name, v)
		}
	}
	if s.Mem == 0 || s.Disk == 0 {
		t.Errorf("memory or disk reads zero: %+v", s)
	}
	if _, err := (&Host{DiskPath: "/no/such/path"}).Sample(context.Background()); err == nil {
		t.Error("missing disk path accepted")
	}
}

func TestBusyPercent(t *testing.T) {
	a := cpu.TimesStat{User: 10, System: 5, Idle: 85}
	b := cpu.TimesStat{User: 40, System: 15, Idle: 145} // +30 +10 busy, +60 idle
	if got := busyPercent(a, b); got < 39.9 || got > 40.1 {
		t.Fatalf("busy = %v, want 40", got)
	}
	if got := busyPercent(b, b); got != 0 {
		t.Fatalf("no time passed: %v", got)
	}
}
