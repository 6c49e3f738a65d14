package diagnose

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/process"

	"opsbot/config"
)

// MetricRSS is the stored series of a target's service RSS in bytes.
const MetricRSS = "service_rss_bytes"

func memoryChecks() []Check {
	return []Check{
		{Name: "top processes", Run: checkTopRSS},
		{Name: "service growth", Run: checkGrowth},
		{Name: "stopgap restart", Run: checkStopgap},
	}
}

// ServiceRSS is the resident memory of t's service process (its workers
// included), for the stored samples that growth is read from.
func ServiceRSS(ctx context.Context, t config.Target) (uint64, bool) {
	loc := locate(ctx, t)
	if len(loc.pids) == 0 {
		return 0, false
	}
	var total uint64
	for _, pid := range loc.pids {
		p, err := process.NewProcessWithContext(ctx, pid)
		if err != nil {
			continue
		}
		if mi, err := p.MemoryInfoWithContext(ctx); err == nil {
			total += mi.RSS
		}
		if kids, err := p.ChildrenWithContext(ctx); err == nil {
			for _, k := range kids {
				if mi, err := k.MemoryInfoWithContext(ctx); err == nil {
					total += mi.RSS
				}
			}
		}
	}
	return total, true
}

func checkTopRSS(ctx context.Context, e *Env) ([]Finding, error) {
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	ps, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("processes: %w", err)
	}
	type pr struct {
		pid  int32
		name string
		rss  uint64
	}
	var all []pr
	for _, p := range ps {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		mi, err := p.MemoryInfoWithContext(ctx)
		if err != nil || mi.RSS == 0 {
			continue
		}
		n, _ := p.NameWithContext(ctx)
		all = append(all, pr{p.Pid, n, mi.RSS})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].rss > all[j].rss })
	ev := []string{fmt.Sprintf("memory %s used of %s", pct(vm.UsedPercent), bytesIEC(vm.Total))}
	for _, p := range all[:min(5, len(all))] {
		ev = append(ev, fmt.Sprintf("%9s  pid %d %s", bytesIEC(p.rss), p.pid, p.name))
	}
	th := e.Config.Thresholds.MemoryPct
	sc := scale(vm.UsedPercent, th.Normal, th.Alert, 2, 55)
	if vm.UsedPercent > th.Alert {
		sc = scale(vm.UsedPercent, th.Alert, 100, 65, 90)
	}
	title := fmt.Sprintf("memory %s used", pct(vm.UsedPercent))
	if len(all) > 0 {
		title += fmt.Sprintf("; largest: %s (pid %d) %s", all[0].name, all[0].pid, bytesIEC(all[0].rss))
	}
	return []Finding{{Title: title, Score: sc, Evidence: ev}}, nil
}

// growthPerDay is the fitted growth of the service's RSS, as a share of
// its current size per day.
func checkGrowth(ctx context.Context, e *Env) ([]Finding, error) {
	if e.Samples == nil {
		return []Finding{{Title: "no stored samples: memory growth unknown", Score: 3}}, nil
	}
	ss, err := e.Samples.Samples(ctx, MetricRSS, e.Target.Name, e.Now.Add(-24*time.Hour), e.Now)
	if err != nil {
		return nil, err
	}
	fit, ok := LinearFit(ss)
	if !ok {
		return []Finding{{Title: "too few samples of the service's memory for a trend", Score: 3, Evidence: []string{fmt.Sprintf("%d sample(s) in 24 h", len(ss))}}}, nil
	}
	latest := ss[len(ss)-1].Value
	first := ss[0].Value
	perHour := fit.Slope * 3600
	share := 0.0
	if first > 0 {
		share = 100 * (latest - first) / first
	}
	span := fit.To.Sub(fit.From)
	ev := []string{fmt.Sprintf("%s → %s over %s (%d samples)", bytesIEC(uint64(max(first, 0))), bytesIEC(uint64(max(latest, 0))), span.Round(time.Minute), len(ss)),
		fmt.Sprintf("fitted growth %s per hour", signedBytes(perHour))}
	if fit.Slope <= 0 || share < 5 {
		return []Finding{{Title: "the service's memory is steady", Score: 2, Evidence: ev}}, nil
	}
	// Growth per hour as a share of the start: a leak doubles in hours.
	rate := 100 * perHour / max(first, 1)
	sc := max(scale(rate, 1, 50, 30, 92), scale(share, 5, 100, 25, 85))
	return []Finding{{Title: fmt.Sprintf("the service's memory grew %.0f %% (%s per hour): a leak", share, signedBytes(perHour)), Score: sc, Evidence: ev,
		Next: verb("restart", e.Target.Name) + " now; " + verb("schedule", "resume", "restart") + " for the nightly stopgap"}}, nil
}

func signedBytes(v float64) string {
	if v < 0 {
		return "-" + bytesIEC(uint64(-v))
	}
	return "+" + bytesIEC(uint64(v))
}

func checkStopgap(ctx context.Context, e *Env) ([]Finding, error) {
	s, ok := e.Config.Schedules["restart"]
	if !ok || !s.On() {
		return []Finding{{Title: "the nightly stopgap restart (04:00) is not scheduled", Score: 12, Evidence: []string{"schedules.restart"},
			Next: verb("schedule", "resume", "restart")}}, nil
	}
	return []Finding{{Title: "the nightly stopgap restart is scheduled: " + s.Spec, Score: 1}}, nil
}
