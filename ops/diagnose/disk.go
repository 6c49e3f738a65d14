package diagnose

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/shirou/gopsutil/v4/disk"
)

func diskChecks() []Check {
	return []Check{
		{Name: "file systems", Run: checkFileSystems},
		{Name: "fill forecast", Run: checkForecast},
		{Name: "largest folders", Run: checkLargest},
	}
}

// configuredPaths are every path the target declares, for their file systems.
func configuredPaths(e *Env) []string {
	t := e.Target
	ps := []string{t.Workdir, t.UploadsDir, t.TempDir, t.Backup.Dir}
	if t.Database.Path != "" {
		ps = append(ps, filepath.Dir(t.Database.Path))
	}
	for _, l := range t.Logs {
		ps = append(ps, filepath.Dir(l.Path))
	}
	ps = append(ps, e.Config.Diagnose.Roots...)
	var out []string
	seen := map[string]bool{}
	for _, p := range ps {
		if p != "" && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func devOf(p string) (uint64, bool) {
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		return 0, false
	}
	return uint64(st.Dev), true
}

func checkFileSystems(ctx context.Context, e *Env) ([]Finding, error) {
	paths := configuredPaths(e)
	if len(paths) == 0 {
		paths = []string{"/"}
	}
	th := e.Config.Thresholds.DiskPct
	byDev := map[uint64][]string{}
	var order []uint64
	var out []Finding
	for _, p := range paths {
		d, ok := devOf(p)
		if !ok {
			out = append(out, Finding{Title: "configured path missing: " + p, Score: 15, Evidence: []string{p}})
			continue
		}
		if _, seen := byDev[d]; !seen {
			order = append(order, d)
		}
		byDev[d] = append(byDev[d], p)
	}
	for _, d := range order {
		ps := byDev[d]
		// The same measurement the disk rule takes: gopsutil's used percent.
		u, err := disk.UsageWithContext(ctx, ps[0])
		if err != nil {
			return out, fmt.Errorf("disk usage %s: %w", ps[0], err)
		}
		sc := scale(u.UsedPercent, th.Normal, th.Alert, 2, 55)
		if u.UsedPercent > th.Alert {
			sc = scale(u.UsedPercent, th.Alert, 100, 70, 92)
		}
		f := Finding{Title: fmt.Sprintf("%s used on the file system of %s (%s free)", pct(u.UsedPercent), ps[0], bytesIEC(u.Free)), Score: sc,
			Evidence: []string{fmt.Sprintf("%s of %s; holds %s", bytesIEC(u.Used), bytesIEC(u.Total), strings.Join(ps, ", ")),
				fmt.Sprintf("normal < %.0f %%, alert > %.0f %%", th.Normal, th.Alert)}}
		if u.InodesTotal > 0 && u.InodesUsedPercent > th.Alert {
			f.Title += fmt.Sprintf("; inodes %s used", pct(u.InodesUsedPercent))
			f.Score = max(f.Score, scale(u.InodesUsedPercent, th.Alert, 100, 70, 92))
		}
		if f.Score >= ScoreNotable {
			f.Next = verb("cleanup", "--dry-run")
		}
		out = append(out, f)
	}
	return out, nil
}

func checkForecast(ctx context.Context, e *Env) ([]Finding, error) {
	if e.Samples == nil {
		return []Finding{{Title: "no stored samples: no growth rate or forecast", Score: 3}}, nil
	}
	fc, err := DiskForecast(ctx, e.Samples, "disk_pct", "", e.Now)
	if err != nil {
		return nil, err
	}
	horizon := e.Config.Diagnose.ForecastHorizon
	var ev []string
	if fc.DayOK || fc.DayFit.N >= 3 {
		ev = append(ev, fmt.Sprintf("last 24 h: %+.2f %%/day over %d samples", fc.DayFit.PerDay(), fc.DayFit.N))
	}
	if fc.WeekOK || fc.WeekFit.N >= 3 {
		ev = append(ev, fmt.Sprintf("last 7 d: %+.2f %%/day over %d samples", fc.WeekFit.PerDay(), fc.WeekFit.N))
	}
	d, ok := fc.Soonest()
	if !ok {
		if fc.DayFit.N < 3 && fc.WeekFit.N < 3 {
			return []Finding{{Title: "too few disk samples for a forecast", Score: 3, Evidence: ev}}, nil
		}
		return []Finding{{Title: "disk use is not growing", Score: 2, Evidence: ev}}, nil
	}
	f := Finding{Title: fmt.Sprintf("the disk is full in about %s at the current rate (%s now)", Days(d), pct(fc.Latest)), Evidence: ev}
	hours := d.Hours()
	h := max(horizon.Hours(), 1)
	if hours <= h {
		// Sooner is worse: at the horizon 60, at zero 96.
		f.Score = scale(h-hours, 0, h, 60, 96)
		f.Next = verb("cleanup", "--dry-run")
	} else {
		f.Score = scale(h*10-hours, 0, h*9, 5, 40)
	}
	return []Finding{f}, nil
}

// checkLargest lists the largest folders one level under the workdir and
// the configured roots, walking within the check's bound.
func checkLargest(ctx context.Context, e *Env) ([]Finding, error) {
	roots := append([]string{e.Target.Workdir}, e.Config.Diagnose.Roots...)
	type dir struct {
		path string
		size int64
	}
	var dirs []dir
	for _, r := range roots {
		if r == "" {
			continue
		}
		ents, err := os.ReadDir(r)
		if err != nil {
			continue
		}
		for _, en := range ents {
			if !en.IsDir() {
				continue
			}
			p := filepath.Join(r, en.Name())
			var size int64
			err := filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if err != nil {
					return nil
				}
				if d.Type().IsRegular() {
					if info, err := d.Info(); err == nil {
						size += info.Size()
					}
				}
				return nil
			})
			if err != nil && ctx.Err() != nil {
				return nil, ctx.Err()
			}
			dirs = append(dirs, dir{p, size})
		}
	}
	if len(dirs) == 0 {
		return nil, nil
	}
	sort.Slice(dirs, func(i, j int) bool { return dirs[i].size > dirs[j].size })
	var ev []string
	for _, d := range dirs[:min(5, len(dirs))] {
		ev = append(ev, fmt.Sprintf("%9s  %s", bytesIEC(uint64(d.size)), d.path))
	}
	return []Finding{{Title: "largest folders: " + filepath.Base(dirs[0].path) + " " + bytesIEC(uint64(dirs[0].size)), Score: 4, Evidence: ev}}, nil
}
