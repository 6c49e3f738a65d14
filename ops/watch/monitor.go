package watch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"opsbot/config"
	"opsbot/ops/logs"
)

// Log names a target's logs are configured under (the seed's files).
const (
	LogAccess   = "access"
	LogError    = "error"
	LogLLM      = "llm"
	LogSecurity = "security"
)

// Literals the seed's monitors grep for.
const (
	NeedleError       = "ERROR"
	NeedleLLMError    = "LLM API Error"
	NeedleLoginFailed = "login failed"
)

// Options of a target's log monitor.
type Options struct {
	// Window is the sliding window of the service signals; SecurityWindow
	// that of failed logins and requests per IP.
	Window, SecurityWindow time.Duration
	// IPs above these counts per SecurityWindow are listed in a Snapshot.
	RequestsPerIP, LoginFailedPerIP int64
	// FromStart reads logs seen for the first time from their start.
	FromStart bool
	Store     StateStore
	Workers   int
	// Keywords counted in the error, LLM and security logs; an empty list
	// is the seed's English literal alone.
	Keywords config.Keywords
}

// Monitor watches one target's access, error, LLM and security logs and
// keeps what each pass counted over sliding windows.
type Monitor struct {
	Target string
	opts   Options
	mu     sync.Mutex
	logs   map[string]*logMon
	order  []string
}

type logMon struct {
	w    *Watcher
	hist []histEntry
	// Cumulative since start, for the monitor view.
	passes, rotations, truncations, dropped int64
	lastErr                                 error
}

type histEntry struct {
	at  time.Time
	acc Acc
}

// NewMonitor builds the monitor of a target's configured logs; logs not
// configured are not watched (their signals are absent, not zero).
func NewMonitor(target string, files map[string]config.LogFile, opts Options) (*Monitor, error) {
	if opts.Window <= 0 {
		opts.Window = 5 * time.Minute
	}
	if opts.SecurityWindow <= 0 {
		opts.SecurityWindow = time.Hour
	}
	m := &Monitor{Target: target, opts: opts, logs: map[string]*logMon{}}
	for _, name := range []string{LogAccess, LogError, LogLLM, LogSecurity} {
		lf, ok := files[name]
		if !ok || lf.Path == "" {
			continue
		}
		format, err := logs.FormatFor(lf)
		if err != nil {
			return nil, fmt.Errorf("monitor %s: log %s: %w", target, name, err)
		}
		var newAcc func() Acc
		switch name {
		case LogAccess:
			newAcc = NewAccess
		case LogError:
			newAcc = NewLinesAny(format, false, orNeedle(opts.Keywords.Error, NeedleError))
		case LogLLM:
			newAcc = NewLinesAny(format, false, orNeedle(opts.Keywords.LLMError, NeedleLLMError))
		case LogSecurity:
			newAcc = NewLinesAny(format, true, orNeedle(opts.Keywords.LoginFailed, NeedleLoginFailed))
		}
		m.logs[name] = &logMon{w: &Watcher{
			Key: "watch:" + target + ":" + name, Path: lf.Path, New: newAcc,
			Store: opts.Store, FromStart: opts.FromStart, Workers: opts.Workers,
		}}
		m.order = append(m.order, name)
	}
	return m, nil
}

func orNeedle(words []string, needle string) []string {
	if len(words) == 0 {
		return []string{needle}
	}
	return words
}

// Begin marks where watching starts in every log (see Watcher.Begin); one
// failing never stops the others.
func (m *Monitor) Begin(ctx context.Context, now time.Time) error {
	var errs []error
	for _, name := range m.order {
		if err := m.logs[name].w.Begin(ctx, now); err != nil {
			errs = append(errs, fmt.Errorf("%s log: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Logs lists the watched log names.
func (m *Monitor) Logs() []string { return append([]string(nil), m.order...) }

// LogStatus is one log's state for the monitor view.
type LogStatus struct {
	Name        string `json:"name"`
	Path        string `json:"path"`
	Offset      int64  `json:"offset"`
	Passes      int64  `json:"passes"`
	Rotations   int64  `json:"rotations"`
	Truncations int64  `json:"truncations"`
	Dropped     int64  `json:"dropped"`
	Unparsed    int64  `json:"unparsed"` // within the signal window
	Error       string `json:"error,omitempty"`
}

// Snapshot is what the logs say over the windows, after a pass.
type Snapshot struct {
	Target string    `json:"target"`
	At     time.Time `json:"at"`

	HasAccess    bool             `json:"has_access"`
	Requests     int64            `json:"requests"`
	ResponseMS   float64          `json:"response_ms"` // mean over the window
	TimedLines   int64            `json:"timed_lines"`
	Rate5xxPct   float64          `json:"rate_5xx_pct"`
	HasLLM       bool             `json:"has_llm"`
	LLMCalls     int64            `json:"llm_calls"`
	LLMErrors    int64            `json:"llm_errors"`
	LLMSuccess   float64          `json:"llm_success_pct"` // 100 without calls
	HasError     bool             `json:"has_error"`
	ErrorLines   int64            `json:"error_lines"`
	HasSecurity  bool             `json:"has_security"`
	LoginFailed  int64            `json:"login_failed"` // over the security window
	LoginByIP    map[string]int64 `json:"login_failed_by_ip,omitempty"`
	RequestsByIP map[string]int64 `json:"requests_by_ip,omitempty"`

	Logs []LogStatus `json:"logs"`
}

// Pass reads every log once (one failing never stops the others) and
// returns the windows' sums. The error joins each log's problem; a
// cancelled context is returned as it is.
func (m *Monitor) Pass(ctx context.Context, now time.Time) (Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for _, name := range m.order {
		lm := m.logs[name]
		res, err := lm.w.Pass(ctx, now)
		if err != nil && ctx.Err() != nil {
			return Snapshot{}, ctx.Err()
		}
		lm.passes++
		if res.Rotated {
			lm.rotations++
		}
		if res.Truncated {
			lm.truncations++
		}
		lm.dropped += res.Dropped
		lm.lastErr = err
		if err != nil {
			errs = append(errs, fmt.Errorf("%s log: %w", name, err))
		}
		lm.hist = append(lm.hist, histEntry{at: now, acc: res.Acc})
		keep := max(m.opts.Window, m.opts.SecurityWindow)
		i := 0
		for i < len(lm.hist) && !lm.hist[i].at.After(now.Add(-keep)) {
			i++
		}
		lm.hist = lm.hist[i:]
	}
	return m.snapshot(now), errors.Join(errs...)
}

// sum merges the entries newer than now-window into a fresh Acc.
func (lm *logMon) sum(now time.Time, window time.Duration) Acc {
	acc := lm.w.New()
	for _, e := range lm.hist {
		if e.at.After(now.Add(-window)) {
			acc.Merge(e.acc)
		}
	}
	return acc
}

func (m *Monitor) snapshot(now time.Time) Snapshot {
	s := Snapshot{Target: m.Target, At: now}
	for _, name := range m.order {
		lm := m.logs[name]
		st := lm.w.State()
		ls := LogStatus{Name: name, Path: lm.w.Path, Offset: st.Offset, Passes: lm.passes, Rotations: lm.rotations, Truncations: lm.truncations, Dropped: lm.dropped}
		if lm.lastErr != nil {
			ls.Error = lm.lastErr.Error()
		}
		// A log that cannot be read gives no signal rather than a zero.
		ok := lm.lastErr == nil
		switch name {
		case LogAccess:
			a := lm.sum(now, m.opts.Window).(*AccessStats)
			s.HasAccess = ok
			s.Requests = a.Requests
			s.TimedLines = a.RTCount
			s.ResponseMS = float64(a.MeanResponse()) / float64(time.Millisecond)
			s.Rate5xxPct = a.Rate5xx()
			ls.Unparsed = a.Unparsed
			sec := lm.sum(now, m.opts.SecurityWindow).(*AccessStats)
			s.RequestsByIP = sec.IPsOver(m.opts.RequestsPerIP)
		case LogError:
			l := lm.sum(now, m.opts.Window).(*LineStats)
			s.HasError = ok
			s.ErrorLines = l.Hits[0]
			ls.Unparsed = l.Unparsed
		case LogLLM:
			l := lm.sum(now, m.opts.Window).(*LineStats)
			s.HasLLM = ok
			// Every parsed line of the LLM log is a call; the failed ones say
			// "LLM API Error" (the seed's grep).
			s.LLMCalls = l.Lines - l.Unparsed
			s.LLMErrors = l.Hits[0]
			s.LLMSuccess = 100
			if s.LLMCalls > 0 {
				s.LLMSuccess = 100 * float64(max(s.LLMCalls-s.LLMErrors, 0)) / float64(s.LLMCalls)
			}
			ls.Unparsed = l.Unparsed
		case LogSecurity:
			l := lm.sum(now, m.opts.SecurityWindow).(*LineStats)
			s.HasSecurity = ok
			s.LoginFailed = l.Hits[0]
			s.LoginByIP = l.IPsOver(m.opts.LoginFailedPerIP)
			ls.Unparsed = l.Unparsed
		}
		s.Logs = append(s.Logs, ls)
	}
	return s
}
