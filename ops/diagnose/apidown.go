package diagnose

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"opsbot/ops"
)

func apiDownChecks() []Check {
	return []Check{
		{Name: "process", Run: checkProcess},
		{Name: "port", Run: checkPort},
		{Name: "health", Run: checkHealthURL},
		{Name: "error log", Run: checkErrorLog},
		{Name: "resources", Run: checkResources},
		{Name: "restarts", Run: checkRestarts},
		{Name: "status action", Run: checkStatusAction},
	}
}

func checkProcess(ctx context.Context, e *Env) ([]Finding, error) {
	t := e.Target
	loc := locate(ctx, t)
	restart := verb("restart", t.Name)
	switch {
	case loc.stale != 0:
		return []Finding{{Title: fmt.Sprintf("the service is not running: %s names pid %d, which is gone", loc.how, loc.stale), Score: 95,
			Evidence: []string{loc.how, fmt.Sprintf("pid %d not running", loc.stale)}, Next: restart}}, nil
	case loc.err != nil && t.Service.PIDFile != "":
		return []Finding{{Title: "the service's pid file cannot be read: " + loc.err.Error(), Score: 70, Evidence: []string{t.Service.PIDFile}, Next: restart}}, nil
	case loc.err != nil:
		return nil, loc.err
	case loc.how == "nothing configured":
		return []Finding{{Title: "no pid file, process name or port configured: the process cannot be found", Score: 5,
			Evidence: []string{"targets[].service.pid_file / process / port"}}}, nil
	case len(loc.pids) == 0 && t.Service.Process != "":
		return []Finding{{Title: fmt.Sprintf("no process named %s is running", t.Service.Process), Score: 92, Evidence: []string{loc.how}, Next: restart}}, nil
	case len(loc.pids) == 0:
		// Found by port and none listens: the port check says it better.
		return nil, nil
	}
	var ev []string
	for _, p := range loc.pids {
		ev = append(ev, fmt.Sprintf("pid %d (%s)", p, procName(ctx, p)))
	}
	return []Finding{{Title: fmt.Sprintf("the service process runs: pid %s (by %s)", pidList(loc.pids), loc.how), Score: 2, Evidence: ev}}, nil
}

func checkPort(ctx context.Context, e *Env) ([]Finding, error) {
	t := e.Target
	port := portOf(t)
	if port == 0 {
		return nil, nil
	}
	owners, err := listeners(ctx, port)
	if err != nil {
		return nil, err
	}
	restart := verb("restart", t.Name)
	if len(owners) == 0 {
		if dialable(ctx, port) {
			return []Finding{{Title: fmt.Sprintf("port %d accepts connections (its owner is not visible to opsbot)", port), Score: 3}}, nil
		}
		f := Finding{Title: fmt.Sprintf("nothing listens on port %d", port), Score: 85, Next: restart,
			Evidence: []string{fmt.Sprintf("no LISTEN socket on :%d", port)}}
		if t.Service.PIDFile != "" || t.Service.Process != "" {
			if loc := locate(ctx, t); len(loc.pids) > 0 {
				// Alive but not listening: stuck while starting, or crashed inside.
				f.Title = fmt.Sprintf("the service (pid %s) runs but does not listen on port %d", pidList(loc.pids), port)
				f.Score = 90
			}
		}
		return []Finding{f}, nil
	}
	var names []string
	for _, p := range owners {
		names = append(names, fmt.Sprintf("pid %d (%s)", p, procName(ctx, p)))
	}
	if t.Service.PIDFile != "" || t.Service.Process != "" {
		loc := locate(ctx, t)
		ours := false
		// A pre-forking server's master holds the listening socket with
		// its workers, so the service itself is among the owners.
		for _, p := range owners {
			if slices.Contains(loc.pids, p) {
				ours = true
			}
		}
		if !ours && !slices.Contains(owners, 0) {
			return []Finding{{Title: fmt.Sprintf("port %d is taken by another process: %s", port, strings.Join(names, ", ")), Score: 97,
				Evidence: append([]string{fmt.Sprintf("service by %s: pid %s", loc.how, orNone(pidList(loc.pids)))}, names...),
				Next:     fmt.Sprintf("stop %s, then %s", strings.Join(names, ", "), restart)}}, nil
		}
	}
	return []Finding{{Title: fmt.Sprintf("port %d is listened on by %s", port, strings.Join(names, ", ")), Score: 2}}, nil
}

// childOf: uvicorn's workers listen on the parent's socket.
func childOf(ctx context.Context, pid int32, parents []int32) bool {
	for range 4 {
		pp := ppid(ctx, pid)
		if pp <= 1 {
			return false
		}
		if slices.Contains(parents, pp) {
			return true
		}
		pid = pp
	}
	return false
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func checkHealthURL(ctx context.Context, e *Env) ([]Finding, error) {
	t := e.Target
	if t.HealthURL == "" {
		return nil, nil
	}
	r := ops.CheckHealth(ctx, t.HealthURL, t.HealthTimeout)
	ev := []string{t.HealthURL, fmt.Sprintf("%d ms", r.Latency.Milliseconds())}
	restart := verb("restart", t.Name)
	switch {
	case r.TimedOut:
		return []Finding{{Title: fmt.Sprintf("the health endpoint gave no answer within %s", seconds(t.HealthTimeout)), Score: 82, Evidence: ev, Next: restart}}, nil
	case r.Status != 0 && r.Err != nil:
		return []Finding{{Title: fmt.Sprintf("the health endpoint answers %d", r.Status), Score: 80, Evidence: ev, Next: restart}}, nil
	case r.Err != nil:
		// Refused: the port check has the better evidence, this confirms it.
		return []Finding{{Title: "the health endpoint cannot be reached: " + r.Err.Error(), Score: 75, Evidence: ev, Next: restart}}, nil
	}
	th := e.Config.Thresholds.ResponseTimeMS
	ms := float64(r.Latency.Milliseconds())
	s := scale(ms, th.Normal, th.Alert, 2, 60)
	return []Finding{{Title: fmt.Sprintf("the health endpoint answers %d in %d ms", r.Status, r.Latency.Milliseconds()), Score: s, Evidence: ev}}, nil
}

// lastHealthy is the time of the last sample with the target up.
func lastHealthy(ctx context.Context, e *Env) (time.Time, bool) {
	if e.Samples == nil {
		return time.Time{}, false
	}
	ss, err := e.Samples.Samples(ctx, "health_up", e.Target.Name, e.Now.Add(-24*time.Hour), e.Now)
	if err != nil {
		return time.Time{}, false
	}
	for i := len(ss) - 1; i >= 0; i-- {
		if ss[i].Value >= 1 {
			return ss[i].At.Time, true
		}
	}
	return time.Time{}, false
}

func checkErrorLog(ctx context.Context, e *Env) ([]Finding, error) {
	l, ok := e.Target.Logs["error"]
	if !ok {
		return nil, nil
	}
	lines, err := tailLines(l.Path, 2000, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("error log: %w", err)
	}
	since, known := lastHealthy(ctx, e)
	what := "since the last healthy check"
	if !known {
		since, what = e.Now.Add(-15*time.Minute), "in the last 15 min"
	}
	var errs []string
	for _, ln := range lines {
		if lv := lineLevel(ln); lv != "ERROR" && lv != "CRITICAL" {
			continue
		}
		if at, ok := lineTime(ln); ok && at.Before(since) {
			continue
		}
		errs = append(errs, ln)
	}
	if len(errs) == 0 {
		return []Finding{{Title: "no ERROR lines in the error log " + what, Score: 1, Evidence: []string{l.Path}}}, nil
	}
	ev := []string{fmt.Sprintf("%s: %d ERROR line(s) %s", l.Path, len(errs), what)}
	for _, ln := range errs[max(0, len(errs)-3):] {
		ev = append(ev, clip(ln, 200))
	}
	return []Finding{{Title: fmt.Sprintf("%d ERROR line(s) in the error log %s", len(errs), what), Score: scale(float64(len(errs)), 0, 50, 25, 65),
		Evidence: ev, Next: verb("logs", "search", "ERROR", "--file", "error", "--since", "15m")}}, nil
}

func checkResources(ctx context.Context, e *Env) ([]Finding, error) {
	path := e.Target.Workdir
	if path == "" {
		path = "/"
	}
	s, err := ops.NewHost(path).Sample(ctx)
	if err != nil {
		return nil, err
	}
	th := e.Config.Thresholds
	var out []Finding
	for _, x := range []struct {
		name  string
		v     float64
		n, a  float64
		next  string
		where string
	}{
		{"CPU", s.CPU, th.CPUPct.Normal, th.CPUPct.Alert, "", ""},
		{"memory", s.Mem, th.MemoryPct.Normal, th.MemoryPct.Alert, verb("diagnose", "memory", e.Target.Name), ""},
		{"disk", s.Disk, th.DiskPct.Normal, th.DiskPct.Alert, verb("cleanup"), " (" + path + ")"},
	} {
		sc := scale(x.v, x.n, x.a, 2, 55)
		if x.v > x.a {
			sc = scale(x.v, x.a, 100, 60, 80)
		}
		f := Finding{Title: fmt.Sprintf("%s use %s%s", x.name, pct(x.v), x.where), Score: sc,
			Evidence: []string{fmt.Sprintf("normal < %.0f %%, alert > %.0f %%", x.n, x.a)}}
		if sc >= ScoreNotable {
			f.Next = x.next
		}
		out = append(out, f)
	}
	return out, nil
}

func checkRestarts(ctx context.Context, e *Env) ([]Finding, error) {
	if e.Restarts == nil {
		return nil, nil
	}
	evs, err := e.Restarts(ctx, e.Target.Name, e.Now.Add(-24*time.Hour))
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		return []Finding{{Title: "no restarts in the last 24 h", Score: 1}}, nil
	}
	failed := 0
	var ev []string
	for _, x := range evs {
		if x.Outcome != "ok" {
			failed++
		}
		ev = append(ev, fmt.Sprintf("%s %s by %s → %s %s", x.At.UTC().Format("01-02 15:04"), x.What, x.By, x.Outcome, clip(x.Detail, 80)))
	}
	ev = ev[max(0, len(ev)-5):]
	sc := scale(float64(len(evs)), 0, 5, 5, 25) + scale(float64(failed), 0, 3, 0, 40)
	return []Finding{{Title: fmt.Sprintf("%d restart(s) in the last 24 h, %d failed", len(evs), failed), Score: sc, Evidence: ev}}, nil
}

func checkStatusAction(ctx context.Context, e *Env) ([]Finding, error) {
	argv := e.Target.Service.Status
	if len(argv) == 0 {
		return nil, nil
	}
	res, err := ops.RunArgv(ctx, argv, e.Target.Workdir, ops.ActionEnv(e.Target), 0)
	out := strings.TrimSpace(res.Output)
	lines := strings.Split(out, "\n")
	ev := []string{strings.Join(argv, " ") + fmt.Sprintf(" → exit %d", res.ExitCode)}
	for _, l := range lines[max(0, len(lines)-5):] {
		if l != "" {
			ev = append(ev, clip(l, 200))
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		return []Finding{{Title: "the status action reports a problem: " + err.Error(), Score: 55, Evidence: ev, Next: verb("restart", e.Target.Name)}}, nil
	}
	return []Finding{{Title: "the status action reports the service fine", Score: 2, Evidence: ev}}, nil
}
