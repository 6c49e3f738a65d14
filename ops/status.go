package ops

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // postgres driver "pgx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	_ "modernc.org/sqlite" // sqlite driver "sqlite"

	"opsbot/chat"
	"opsbot/config"
	"opsbot/human"
	"opsbot/textclip"
)

// Level is the state of one status line.
type Level int

const (
	LevelOK Level = iota
	LevelSkip
	LevelWarning
	LevelFailing
)

func (l Level) String() string {
	switch l {
	case LevelOK:
		return "ok"
	case LevelSkip:
		return "skipped"
	case LevelWarning:
		return "warning"
	case LevelFailing:
		return "failing"
	}
	return "unknown"
}

// Line is one checked item of the status reply.
type Line struct {
	Target    string // "" for the host and the bot's own lines
	Check     string // api, database, redis, llm, uploads, logging, cpu, memory, disk, …
	Level     Level
	Value     string // what was measured
	Threshold string // what it is compared with
	Took      time.Duration
}

// Report is the status checklist.
type Report struct {
	Lines []Line
	At    time.Time
	Took  time.Duration
}

// Verdict is the worst level of the report's lines (skipped lines count as ok).
func (r Report) Verdict() Level {
	v := LevelOK
	for _, l := range r.Lines {
		if l.Level > v && l.Level != LevelSkip {
			v = l.Level
		}
	}
	return v
}

// Count returns how many lines are at level l.
func (r Report) Count(l Level) int {
	n := 0
	for _, x := range r.Lines {
		if x.Level == l {
			n++
		}
	}
	return n
}

// HostSampler reads host CPU, memory and disk use (*Host does).
type HostSampler interface {
	Sample(ctx context.Context) (HostSample, error)
}

// Checker runs the status checklist: per target the guide's six checks
// (API health, database, Redis, LLM API, uploads, logging) plus host CPU,
// memory and disk, all at once, each bounded by its own timeout.
type Checker struct {
	Host HostSampler // nil: no host lines
	// ProbeTimeout bounds the checks without a configured timeout [3s].
	ProbeTimeout time.Duration

	durations *prometheus.HistogramVec
}

// NewChecker makes a checker sampling host.
func NewChecker(host HostSampler) *Checker {
	return &Checker{Host: host, ProbeTimeout: 3 * time.Second,
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "opsbot_probe_duration_seconds", Help: "Status probe run time by check and level.",
			Buckets: []float64{.001, .01, .05, .2, .5, 1, 2, 5},
		}, []string{"check", "level"})}
}

// Collectors are the checker's metrics, for the app to register.
func (c *Checker) Collectors() []prometheus.Collector {
	if c.durations == nil {
		return nil
	}
	return []prometheus.Collector{c.durations}
}

type probe struct {
	target, check string
	timeout       time.Duration
	run           func(ctx context.Context) Line
}

// Status checks every given target and the host. A probe that does not
// answer within its timeout is reported failing at its deadline, whatever
// it is still doing; the others are not held up by it.
func (c *Checker) Status(ctx context.Context, th config.Thresholds, targets []config.Target) Report {
	start := time.Now()
	def := c.ProbeTimeout
	if def <= 0 {
		def = 3 * time.Second
	}
	var probes []probe
	for _, t := range targets {
		t := t
		probes = append(probes,
			probe{t.Name, "api", orDefault(t.HealthTimeout, def), func(ctx context.Context) Line { return checkAPI(ctx, t, th) }},
			probe{t.Name, "database", def, func(ctx context.Context) Line { return checkDatabase(ctx, t) }},
			probe{t.Name, "redis", def, func(ctx context.Context) Line { return checkRedis(ctx, t) }},
			probe{t.Name, "llm", orDefault(t.LLM.Timeout, def), func(ctx context.Context) Line { return checkLLM(ctx, t, th) }},
			probe{t.Name, "uploads", def, func(ctx context.Context) Line { return checkUploads(ctx, t, th) }},
			probe{t.Name, "logging", def, func(ctx context.Context) Line { return checkLogging(ctx, t) }},
		)
	}
	hostAt := -1
	if c.Host != nil {
		hostAt = len(probes)
		probes = append(probes, probe{"", "host", def, nil})
	}
	results := make([][]Line, len(probes))
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, p.timeout)
			defer cancel()
			done := make(chan []Line, 1)
			began := time.Now()
			go func() {
				if i == hostAt {
					done <- c.hostLines(pctx, th)
					return
				}
				done <- []Line{p.run(pctx)}
			}()
			var ls []Line
			select {
			case ls = <-done:
			case <-pctx.Done():
				select {
				case ls = <-done: // finished at the same moment: keep its answer
				default:
					ls = []Line{{Target: p.target, Check: p.check, Level: LevelFailing,
						Value: "no answer within " + p.timeout.String(), Threshold: "answers within " + p.timeout.String()}}
				}
			}
			took := time.Since(began)
			for j := range ls {
				ls[j].Took = took
				if c.durations != nil {
					c.durations.WithLabelValues(ls[j].Check, ls[j].Level.String()).Observe(took.Seconds())
				}
			}
			results[i] = ls
		}()
	}
	wg.Wait()
	r := Report{At: start}
	for _, ls := range results {
		r.Lines = append(r.Lines, ls...)
	}
	r.Took = time.Since(start)
	return r
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// grade compares a value where higher is worse with a threshold.
func grade(v float64, th config.Threshold) Level {
	switch {
	case v > th.Alert:
		return LevelFailing
	case v > th.Normal:
		return LevelWarning
	}
	return LevelOK
}

func pctThreshold(th config.Threshold) string {
	return fmt.Sprintf("< %g %%, alert > %g %%", th.Normal, th.Alert)
}

func checkAPI(ctx context.Context, t config.Target, th config.Thresholds) Line {
	l := Line{Target: t.Name, Check: "api", Threshold: fmt.Sprintf("< %s, alert > %s",
		msString(th.ResponseTimeMS.Normal), msString(th.ResponseTimeMS.Alert))}
	timeout := orDefault(t.HealthTimeout, 2*time.Second)
	r := CheckHealth(ctx, t.HealthURL, timeout)
	ms := float64(r.Latency.Microseconds()) / 1000
	switch {
	case r.Status == 0:
		l.Level, l.Value = LevelFailing, errText(r.Err)
	case r.Err != nil:
		l.Level, l.Value = LevelFailing, fmt.Sprintf("status %d in %s", r.Status, msString(ms))
	default:
		l.Level, l.Value = grade(ms, th.ResponseTimeMS), fmt.Sprintf("status %d in %s", r.Status, msString(ms))
	}
	return l
}

func msString(ms float64) string {
	if ms >= 1000 {
		return fmt.Sprintf("%.3g s", ms/1000)
	}
	if ms < 10 {
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

// errText shortens an error for a status line.
func errText(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	for _, cut := range []string{"health: ", "dial tcp "} {
		s = strings.TrimPrefix(s, cut)
	}
	if i := strings.LastIndex(s, "connect: "); i >= 0 {
		s = s[i+len("connect: "):]
	}
	return textclip.Bytes(s, 80, "...")
}

func checkDatabase(ctx context.Context, t config.Target) Line {
	l := Line{Target: t.Name, Check: "database"}
	switch t.Database.Driver {
	case "postgres":
		l.Threshold = "ping and SELECT 1"
		if t.Database.DSN == "" {
			l.Level, l.Value = LevelSkip, "not configured"
			return l
		}
		db, err := sql.Open("pgx", t.Database.DSN.Reveal())
		if err != nil {
			l.Level, l.Value = LevelFailing, "open: "+errText(err)
			return l
		}
		defer db.Close()
		var one int
		if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
			l.Level, l.Value = LevelFailing, "query failed: "+errText(unwrapAll(err))
			return l
		}
		l.Value = "reachable, query works"
		return l
	}
	l.Threshold = "file present, query works"
	if t.Database.Path == "" {
		l.Level, l.Value = LevelSkip, "not configured"
		return l
	}
	st, err := os.Stat(t.Database.Path)
	if err != nil {
		l.Level, l.Value = LevelFailing, "missing: "+filepath.Base(t.Database.Path)
		return l
	}
	// Read-only: the check must never create or change the database.
	db, err := sql.Open("sqlite", "file:"+t.Database.Path+"?mode=ro&_pragma=busy_timeout(2000)")
	if err != nil {
		l.Level, l.Value = LevelFailing, "open: "+errText(err)
		return l
	}
	defer db.Close()
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).Scan(&tables); err != nil {
		l.Level, l.Value = LevelFailing, "query failed: "+errText(err)
		return l
	}
	size := st.Size()
	if wal, err := os.Stat(t.Database.Path + "-wal"); err == nil {
		size += wal.Size()
	}
	l.Value = fmt.Sprintf("%d tables, %s", tables, Bytes(size))
	if tables == 0 {
		l.Level = LevelWarning
	}
	return l
}

func unwrapAll(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

func checkRedis(ctx context.Context, t config.Target) Line {
	l := Line{Target: t.Name, Check: "redis", Threshold: "PING answers PONG"}
	if t.Redis.Addr == "" {
		l.Level, l.Value = LevelSkip, "not configured"
		return l
	}
	c := redis.NewClient(&redis.Options{Addr: t.Redis.Addr, DB: t.Redis.DB, Password: t.Redis.Password.Reveal(),
		MaxRetries: -1, PoolSize: 1, DisableIdentity: true})
	defer c.Close()
	start := time.Now()
	res, err := c.Ping(ctx).Result()
	if err != nil {
		l.Level, l.Value = LevelFailing, "no PONG: "+errText(err)
		return l
	}
	l.Value = fmt.Sprintf("%s in %s", res, msString(float64(time.Since(start).Microseconds())/1000))
	return l
}

// checkLLM checks that the vendor endpoint answers at all (a 401 without a
// key still proves it is reachable) and, when the target has an "llm" log,
// the success rate of the recent calls in it.
func checkLLM(ctx context.Context, t config.Target, th config.Thresholds) Line {
	l := Line{Target: t.Name, Check: "llm", Threshold: "reachable"}
	var parts []string
	endpoint, rate := LevelSkip, LevelSkip
	if t.LLM.URL == "" {
		parts = append(parts, "endpoint not configured")
	} else {
		r := CheckHealth(ctx, t.LLM.URL, orDefault(t.LLM.Timeout, 3*time.Second))
		switch {
		case r.Status == 0:
			endpoint = LevelFailing
			parts = append(parts, "unreachable: "+errText(r.Err))
		case r.Status >= 500:
			endpoint = LevelFailing
			parts = append(parts, fmt.Sprintf("status %d", r.Status))
		default:
			endpoint = LevelOK
			parts = append(parts, fmt.Sprintf("reachable (%d in %s)", r.Status, msString(float64(r.Latency.Microseconds())/1000)))
		}
	}
	if lf, ok := t.Logs["llm"]; ok {
		l.Threshold += fmt.Sprintf("; success > %g %%, alert < %g %%", th.LLMSuccessPct.Normal, th.LLMSuccessPct.Alert)
		calls, failed, err := llmCalls(lf.Path, 256<<10)
		switch {
		case err != nil:
			rate = LevelWarning
			parts = append(parts, "log unreadable")
		case calls == 0:
			parts = append(parts, "no recent calls")
		default:
			pct := 100 * float64(calls-failed) / float64(calls)
			parts = append(parts, fmt.Sprintf("%.1f %% of %d recent calls ok", pct, calls))
			rate = LevelOK
			if pct < th.LLMSuccessPct.Alert {
				rate = LevelFailing
			} else if pct < th.LLMSuccessPct.Normal {
				rate = LevelWarning
			}
		}
	}
	switch {
	case endpoint == LevelSkip && rate == LevelSkip:
		l.Level = LevelSkip
	case endpoint == LevelSkip:
		l.Level = rate
	case rate == LevelSkip:
		l.Level = endpoint
	default:
		l.Level = max(endpoint, rate)
	}
	l.Value = strings.Join(parts, ", ")
	return l
}

// llmCalls counts calls ("LLM API" lines) and failures ("LLM API Error")
// in the last tail bytes of the LLM log.
func llmCalls(path string, tail int64) (calls, failed int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	off := max(st.Size()-tail, 0)
	sc := bufio.NewScanner(io.NewSectionReader(f, off, st.Size()-off))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	first := off > 0
	for sc.Scan() {
		if first { // a partial line
			first = false
			continue
		}
		line := sc.Bytes()
		if bytes.Contains(line, []byte("LLM API Error")) {
			calls++
			failed++
		} else if bytes.Contains(line, []byte("LLM API")) {
			calls++
		}
	}
	return calls, failed, sc.Err()
}

func checkUploads(ctx context.Context, t config.Target, th config.Thresholds) Line {
	l := Line{Target: t.Name, Check: "uploads", Threshold: "writable; disk " + pctThreshold(th.DiskPct)}
	if t.UploadsDir == "" {
		l.Level, l.Value = LevelSkip, "not configured"
		return l
	}
	st, err := os.Stat(t.UploadsDir)
	if err != nil || !st.IsDir() {
		l.Level, l.Value = LevelFailing, "folder missing"
		return l
	}
	f, err := os.CreateTemp(t.UploadsDir, ".opsbot-write-check-*")
	if err != nil {
		l.Level, l.Value = LevelFailing, "not writable: "+errText(unwrapAll(err))
		return l
	}
	_, werr := f.Write([]byte("opsbot write check\n"))
	cerr := f.Close()
	os.Remove(f.Name())
	if werr != nil || cerr != nil {
		l.Level, l.Value = LevelFailing, "write failed: "+errText(errors.Join(werr, cerr))
		return l
	}
	used, free, err := DiskPercent(ctx, t.UploadsDir)
	if err != nil {
		l.Level, l.Value = LevelWarning, "writable, free space unknown"
		return l
	}
	l.Level = grade(used, th.DiskPct)
	l.Value = fmt.Sprintf("writable, %s free (%.0f %% used)", Bytes(int64(free)), used)
	return l
}

func checkLogging(ctx context.Context, t config.Target) Line {
	maxAge := orDefault(t.LogMaxAge, time.Hour)
	l := Line{Target: t.Name, Check: "logging", Threshold: "written within " + human.Duration(maxAge)}
	if len(t.Logs) == 0 {
		l.Level, l.Value = LevelSkip, "no logs configured"
		return l
	}
	names := make([]string, 0, len(t.Logs))
	for n := range t.Logs {
		names = append(names, n)
	}
	sort.Strings(names)
	var missing, stale []string
	var newest time.Duration = -1
	for _, n := range names {
		if ctx.Err() != nil {
			break
		}
		st, err := os.Stat(t.Logs[n].Path)
		if err != nil {
			missing = append(missing, n)
			continue
		}
		age := time.Since(st.ModTime())
		if age > maxAge {
			stale = append(stale, fmt.Sprintf("%s (%s)", n, human.Duration(age.Round(time.Minute))))
		}
		if newest < 0 || age < newest {
			newest = age
		}
	}
	switch {
	case len(missing) > 0:
		l.Level, l.Value = LevelFailing, "missing: "+strings.Join(missing, ", ")
		if len(stale) > 0 {
			l.Value += "; stale: " + strings.Join(stale, ", ")
		}
	case len(stale) > 0:
		l.Level, l.Value = LevelWarning, "stale: "+strings.Join(stale, ", ")
	default:
		l.Value = fmt.Sprintf("%d logs, newest %s ago", len(names), human.Duration(max(newest, 0).Round(time.Second)))
	}
	return l
}

func (c *Checker) hostLines(ctx context.Context, th config.Thresholds) []Line {
	s, err := c.Host.Sample(ctx)
	if err != nil {
		return []Line{{Check: "host", Level: LevelFailing, Value: errText(err)}}
	}
	return []Line{
		{Check: "cpu", Level: grade(s.CPU, th.CPUPct), Value: fmt.Sprintf("%.1f %%", s.CPU), Threshold: pctThreshold(th.CPUPct)},
		{Check: "memory", Level: grade(s.Mem, th.MemoryPct), Value: fmt.Sprintf("%.1f %%", s.Mem), Threshold: pctThreshold(th.MemoryPct)},
		{Check: "disk", Level: grade(s.Disk, th.DiskPct), Value: fmt.Sprintf("%.1f %% of %s", s.Disk, s.DiskPath), Threshold: pctThreshold(th.DiskPct)},
	}
}

// Message renders the report for chat: the overall verdict first, then a
// table of every line.
func (r Report) Message() chat.Message {
	v := r.Verdict()
	sev := map[Level]chat.Severity{LevelOK: chat.SevOK, LevelWarning: chat.SevWarning, LevelFailing: chat.SevCritical}[v]
	summary := "all checks ok"
	var bad []string
	for _, l := range r.Lines {
		if l.Level == LevelFailing || l.Level == LevelWarning {
			who := l.Check
			if l.Target != "" {
				who = l.Target + " " + l.Check
			}
			bad = append(bad, who+" "+l.Level.String())
		}
	}
	if len(bad) > 0 {
		summary = strings.Join(bad, ", ")
	}
	// Columns by display width: a Chinese target or value lines up too.
	rows := [][]string{{"TARGET", "CHECK", "STATE", "VALUE", "THRESHOLD"}}
	for _, l := range r.Lines {
		target := l.Target
		if target == "" {
			target = "host"
			if l.Check != "cpu" && l.Check != "memory" && l.Check != "disk" && l.Check != "host" {
				target = "bot"
			}
		}
		state := l.Level.String()
		if l.Level == LevelFailing || l.Level == LevelWarning {
			state = strings.ToUpper(state)
		}
		rows = append(rows, []string{target, l.Check, state, l.Value, l.Threshold})
	}
	return chat.Message{
		Title:    "Status: " + strings.ToUpper(v.String()),
		Severity: sev,
		Text:     fmt.Sprintf("%s (%d checks in %s)", summary, len(r.Lines), human.Duration(r.Took.Round(time.Millisecond))),
		Code:     strings.TrimRight(textclip.Table(rows, 2), "\n"),
	}
}
