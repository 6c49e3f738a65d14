package ops

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/mem"
)

// HostSample is one reading of the host's CPU, memory and disk use, in
// percent (0–100).
type HostSample struct {
	CPU  float64
	Mem  float64
	Disk float64
	// DiskPath is the path whose file system Disk measures.
	DiskPath string
	At       time.Time
}

// Host samples the machine the served backend runs on. CPU use is the
// busy share between two readings: the previous Sample when it is recent,
// otherwise a short window measured on the spot. Safe for concurrent use.
type Host struct {
	// DiskPath is the path whose file system is measured ["/"].
	DiskPath string
	// Window is the CPU measuring window when no recent reading exists [250ms].
	Window time.Duration

	mu       sync.Mutex
	last     cpu.TimesStat
	lastAt   time.Time
	haveLast bool
}

// NewHost samples the file system holding diskPath.
func NewHost(diskPath string) *Host { return &Host{DiskPath: diskPath} }

// Sample reads CPU, memory and disk use now.
func (h *Host) Sample(ctx context.Context) (HostSample, error) {
	path := h.DiskPath
	if path == "" {
		path = "/"
	}
	s := HostSample{DiskPath: path, At: time.Now()}
	c, err := h.cpuPercent(ctx)
	if err != nil {
		return s, err
	}
	s.CPU = c
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return s, fmt.Errorf("host memory: %w", err)
	}
	s.Mem = vm.UsedPercent
	du, err := disk.UsageWithContext(ctx, path)
	if err != nil {
		return s, fmt.Errorf("host disk %s: %w", path, err)
	}
	s.Disk = du.UsedPercent
	return s, nil
}

// DiskPercent is the used share of the file system holding path.
func DiskPercent(ctx context.Context, path string) (used float64, freeBytes uint64, err error) {
	du, err := disk.UsageWithContext(ctx, path)
	if err != nil {
		return 0, 0, fmt.Errorf("disk usage %s: %w", path, err)
	}
	return du.UsedPercent, du.Free, nil
}

func (h *Host) cpuPercent(ctx context.Context) (float64, error) {
	read := func() (cpu.TimesStat, error) {
		ts, err := cpu.TimesWithContext(ctx, false)
		if err != nil {
			return cpu.TimesStat{}, fmt.Errorf("host cpu: %w", err)
		}
		if len(ts) == 0 {
			return cpu.TimesStat{}, fmt.Errorf("host cpu: no reading")
		}
		return ts[0], nil
	}
	h.mu.Lock()
	prev, prevAt, ok := h.last, h.lastAt, h.haveLast
	h.mu.Unlock()
	if !ok || time.Since(prevAt) > 5*time.Minute {
		var err error
		if prev, err = read(); err != nil {
			return 0, err
		}
		w := h.Window
		if w <= 0 {
			w = 250 * time.Millisecond
		}
		t := time.NewTimer(w)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, fmt.Errorf("host cpu: %w", ctx.Err())
		case <-t.C:
		}
	}
	cur, err := read()
	if err != nil {
		return 0, err
	}
	h.mu.Lock()
	h.last, h.lastAt, h.haveLast = cur, time.Now(), true
	h.mu.Unlock()
	return busyPercent(prev, cur), nil
}

func busyPercent(a, b cpu.TimesStat) float64 {
	idle := func(t cpu.TimesStat) float64 { return t.Idle + t.Iowait }
	total := func(t cpu.TimesStat) float64 {
		// Guest time is already counted in User and Nice on Linux.
		return t.User + t.System + t.Idle + t.Nice + t.Iowait + t.Irq + t.Softirq + t.Steal
	}
	dt := total(b) - total(a)
	if dt <= 0 {
		return 0
	}
	busy := dt - (idle(b) - idle(a))
	p := 100 * busy / dt
	return min(max(p, 0), 100)
}
