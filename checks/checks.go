// Package checks runs the user-defined checks of the configuration
// (checks:) and turns each run into samples named by the check
// (config.CheckMetrics): an http request, a tcp connect, a process looked
// up, a command run (argv, never a shell), a read-only SQL query, a count of
// matching log lines over a window, a PromQL instant query. It judges
// nothing: rules over the samples do.
package checks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"opsbot/config"
	"opsbot/ops"
)

// Sample is one value a check produced.
type Sample struct {
	Metric string
	Target string
	Value  float64
}

// DefaultTimeout bounds a check that sets none.
const DefaultTimeout = 10 * time.Second

// Check is one configured check, ready to run. Log checks keep their read
// offset and window between runs; the others keep nothing.
type Check struct {
	cfg     config.Check
	timeout time.Duration
	run     func(ctx context.Context, now time.Time) ([]Sample, error)
}

// Options are what some kinds need besides their own configuration.
type Options struct {
	// Getenv reads a sql check's DSN variable (and its _FILE twin); nil: os.Getenv.
	Getenv func(string) string
	// Logs are the configured targets (a log check reads one of their logs).
	Targets []config.Target
	// Window is a log check's window when it sets none (rules.window).
	Window time.Duration
	// Client makes http and prometheus requests; nil: a client per check.
	Client *http.Client
}

// New prepares c.
func New(c config.Check, o Options) (*Check, error) {
	ch := &Check{cfg: c, timeout: c.Timeout}
	if ch.timeout <= 0 {
		ch.timeout = DefaultTimeout
	}
	switch c.Kind {
	case "http":
		ch.run = ch.http(o.Client)
	case "tcp":
		ch.run = ch.tcp
	case "process":
		ch.run = ch.process
	case "command":
		var re *regexp.Regexp
		if c.ValueRegexp != "" {
			var err error
			if re, err = regexp.Compile(c.ValueRegexp); err != nil {
				return nil, fmt.Errorf("check %s: value_regexp: %w", c.Name, err)
			}
		}
		ch.run = ch.command(re)
	case "sql":
		run, err := newSQL(c, o.Getenv, o.Targets)
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", c.Name, err)
		}
		ch.run = run
	case "log":
		run, err := newLog(c, o.Targets, o.Window)
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", c.Name, err)
		}
		ch.run = run
	case "prometheus":
		run, err := newProm(c, o.Client)
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", c.Name, err)
		}
		ch.run = run
	default:
		return nil, fmt.Errorf("check %s: unknown kind %q", c.Name, c.Kind)
	}
	return ch, nil
}

// Name is the check's name.
func (c *Check) Name() string { return c.cfg.Name }

// Run runs the check once within its timeout. A probe that finds the
// service down is samples (up 0), not an error; an error is a check that
// could not say (a query refused, a log unreadable).
func (c *Check) Run(ctx context.Context, now time.Time) ([]Sample, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	return c.run(ctx, now)
}

func (c *Check) sample(suffix string, v float64) Sample {
	m := c.cfg.Name
	if suffix != "" {
		m += "_" + suffix
	}
	return Sample{Metric: m, Target: c.cfg.SampleTarget(), Value: v}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (c *Check) http(client *http.Client) func(ctx context.Context, now time.Time) ([]Sample, error) {
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return func(ctx context.Context, now time.Time) ([]Sample, error) {
		method := c.cfg.Method
		if method == "" {
			method = http.MethodGet
		}
		req, err := http.NewRequestWithContext(ctx, method, c.cfg.URL, nil)
		if err != nil {
			return nil, fmt.Errorf("http: %w", err)
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil && errors.Is(ctx.Err(), context.Canceled) {
				return nil, ctx.Err()
			}
			return []Sample{c.sample("up", 0), c.sample("latency_ms", ms(time.Since(start)))}, nil
		}
		defer resp.Body.Close()
		ok := resp.StatusCode >= 200 && resp.StatusCode < 400
		if c.cfg.ExpectStatus != 0 {
			ok = resp.StatusCode == c.cfg.ExpectStatus
		}
		if c.cfg.ExpectBody != "" {
			body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			ok = ok && err == nil && strings.Contains(string(body), c.cfg.ExpectBody)
		} else {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		}
		lat := time.Since(start)
		out := []Sample{c.sample("up", b2f(ok)), c.sample("latency_ms", ms(lat)), c.sample("status", float64(resp.StatusCode))}
		if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
			out = append(out, c.sample("tls_days_left", tlsDays(resp.TLS, now)))
		}
		return out, nil
	}
}

func tlsDays(st *tls.ConnectionState, now time.Time) float64 {
	return float64(st.PeerCertificates[0].NotAfter.Sub(now)) / float64(24*time.Hour)
}

func (c *Check) tcp(ctx context.Context, _ time.Time) ([]Sample, error) {
	var d net.Dialer
	start := time.Now()
	conn, err := d.DialContext(ctx, "tcp", c.cfg.Address)
	lat := time.Since(start)
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil, ctx.Err()
		}
		return []Sample{c.sample("up", 0), c.sample("latency_ms", ms(lat))}, nil
	}
	conn.Close()
	return []Sample{c.sample("up", 1), c.sample("latency_ms", ms(lat))}, nil
}

// process finds the process by pid file or by name (every process of
// that name: a service's workers), and sums their RSS and CPU.
func (c *Check) process(ctx context.Context, _ time.Time) ([]Sample, error) {
	var procs []*process.Process
	if c.cfg.PIDFile != "" {
		b, err := os.ReadFile(c.cfg.PIDFile)
		if err == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				if p, err := process.NewProcessWithContext(ctx, int32(pid)); err == nil {
					procs = append(procs, p)
				}
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("pid file: %w", err)
		}
	} else {
		all, err := process.ProcessesWithContext(ctx)
		if err != nil {
			return nil, fmt.Errorf("processes: %w", err)
		}
		for _, p := range all {
			if n, err := p.NameWithContext(ctx); err == nil && n == c.cfg.Process {
				procs = append(procs, p)
			}
		}
	}
	var rss, cpu float64
	n := 0
	for _, p := range procs {
		if run, err := p.IsRunningWithContext(ctx); err != nil || !run {
			continue
		}
		n++
		if mi, err := p.MemoryInfoWithContext(ctx); err == nil {
			rss += float64(mi.RSS) / (1 << 20)
		}
		if pct, err := p.CPUPercentWithContext(ctx); err == nil {
			cpu += pct
		}
	}
	out := []Sample{c.sample("up", b2f(n > 0)), c.sample("count", float64(n))}
	if n > 0 {
		out = append(out, c.sample("rss_mb", rss), c.sample("cpu_pct", cpu))
	}
	return out, nil
}

var firstNumber = regexp.MustCompile(`[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?`)

// command runs argv (never through a shell, with the actions' clean
// environment) and reads a number from its output.
func (c *Check) command(re *regexp.Regexp) func(ctx context.Context, now time.Time) ([]Sample, error) {
	return func(ctx context.Context, _ time.Time) ([]Sample, error) {
		res, err := ops.RunArgv(ctx, c.cfg.Command, "", nil, c.timeout)
		if res.ExitCode < 0 {
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil, ctx.Err()
			}
			// Not started or killed: it said nothing we can read.
			return []Sample{c.sample("up", 0), c.sample("duration_ms", ms(res.Duration))}, fmt.Errorf("command: %w", err)
		}
		out := []Sample{c.sample("up", b2f(res.ExitCode == c.cfg.ExpectExit)), c.sample("exit_code", float64(res.ExitCode)),
			c.sample("duration_ms", ms(res.Duration))}
		num := ""
		if re != nil {
			if m := re.FindStringSubmatch(res.Output); len(m) > 1 {
				num = m[1]
			}
		} else {
			num = firstNumber.FindString(res.Output)
		}
		if v, perr := strconv.ParseFloat(strings.TrimSpace(num), 64); perr == nil {
			out = append(out, c.sample("", v))
		}
		return out, nil
	}
}
