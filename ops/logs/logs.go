package logs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"opsbot/human"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"opsbot/config"
	"opsbot/textclip"
)

// Limits of a search, so a reply fits a chat and memory stays bounded.
const (
	DefaultLimit = 100
	MaxLimit     = 10000
	MaxContext   = 10
	DefaultTail  = 20
	MaxTail      = 1000
)

// Logs searches and tails the logs configured per target. Files are
// chosen by their configured name only, never by a path from a user.
type Logs struct {
	Config func() *config.Config
	// Now is the clock for --since 1h (time.Now when nil).
	Now func() time.Time
	// Workers scanning blocks (GOMAXPROCS when 0).
	Workers int

	onBlock func() // tests: called after each block is merged
}

// New returns a Logs reading the configuration through cfg on every call.
func New(cfg func() *config.Config) *Logs { return &Logs{Config: cfg, Now: time.Now} }

func (l *Logs) now() time.Time {
	if l.Now == nil {
		return time.Now()
	}
	return l.Now()
}

// Query is one search.
type Query struct {
	Target     string   // "" = the only target
	Logs       []string // configured names; empty = every log of the target
	Pattern    string   // literal unless Regex; "" matches every line
	Regex      bool     // Pattern is RE2
	IgnoreCase bool
	Level      string // only lines of this level (ERROR, WARN, …)
	Since      string // "1h", "2026-11-25T10:00" (in the log's time zone)
	Until      string
	Limit      int // matches kept (DefaultLimit when 0)
	Context    int // lines of context around each match
	CountOnly  bool
	// Redactor, when set, masks secrets in the lines: each line is matched
	// and returned as the user will be shown it, so a pattern can never
	// probe a secret (password=h would otherwise count the lines whose
	// password starts with h).
	Redactor Redactor
	// Progress, when set, hears the bytes scanned so far, after each block
	// (from the search's goroutine: keep it short).
	Progress func(scanned int64)
}

// FileCount is what one file gave.
type FileCount struct {
	Log   string `json:"log"`
	Path  string `json:"path"` // base name
	Count int64  `json:"count"`
	Bytes int64  `json:"bytes"` // bytes read by the scan
	Note  string `json:"note,omitempty"`
}

// Result of a search. Matches are the first ones, in file order (rotated
// files oldest first, then the current one).
type Result struct {
	Target    string        `json:"target"`
	Matches   []Match       `json:"matches,omitempty"`
	Files     []FileCount   `json:"files"`
	Total     int64         `json:"total"`
	Truncated bool          `json:"truncated"` // more matches than kept
	Bytes     int64         `json:"bytes"`
	Elapsed   time.Duration `json:"elapsed"`
}

// PerLog sums counts by configured log name, in search order.
func (r *Result) PerLog() []FileCount {
	var out []FileCount
	idx := map[string]int{}
	for _, f := range r.Files {
		i, ok := idx[f.Log]
		if !ok {
			idx[f.Log] = len(out)
			out = append(out, FileCount{Log: f.Log, Path: f.Path})
			i = len(out) - 1
		}
		out[i].Count += f.Count
		out[i].Bytes += f.Bytes
		if f.Note != "" && out[i].Note == "" {
			out[i].Note = f.Note
		}
	}
	return out
}

// resolveTarget picks the target: by name, or the only one.
func resolveTarget(cfg *config.Config, name string) (config.Target, error) {
	if name == "" {
		switch len(cfg.Targets) {
		case 0:
			return config.Target{}, badInput("no targets are configured")
		case 1:
			return cfg.Targets[0], nil
		}
		return config.Target{}, badInput("several targets (%s): pick one with --target", strings.Join(cfg.TargetNames(), ", "))
	}
	t, ok := cfg.Target(name)
	if !ok {
		return config.Target{}, badInput("%s", human.Unknown("target", "targets", name, cfg.TargetNames()))
	}
	return t, nil
}

// Names lists a target's configured log names, sorted.
func Names(t config.Target) []string {
	names := make([]string, 0, len(t.Logs))
	for n := range t.Logs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// lookup returns a configured log by name. Anything else, a path above
// all, is refused: names are the only way in.
func lookup(t config.Target, name string) (config.LogFile, error) {
	lf, ok := t.Logs[name]
	if !ok {
		known := Names(t)
		if len(known) == 0 {
			return lf, badInput("target %s has no logs configured", t.Name)
		}
		return lf, badInput("%s", human.Unknown("log", "logs", name, known))
	}
	return lf, nil
}

func clipName(s string) string { return textclip.Runes(s, 40, textclip.Ellipsis) }

// logPath resolves a configured path against the target's workdir.
func logPath(t config.Target, lf config.LogFile) string {
	if filepath.IsAbs(lf.Path) || t.Workdir == "" {
		return lf.Path
	}
	return filepath.Join(t.Workdir, lf.Path)
}

// Rotated siblings: name.1, name.2.gz, and name.gz (a log gzipped whole
// by cleanup), which sorts as number 0.
var rotatedRE = regexp.MustCompile(`^(?:\.(\d+))?(\.gz)?$`)

// Files returns a log's files oldest first: rotated siblings (name.2.gz,
// name.1, …, name.gz) by descending number, then the current file.
func Files(path string) ([]string, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("list log folder: %w", err)
	}
	type rot struct {
		n    int
		path string
	}
	var rots []rot
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), base)
		if !ok || e.IsDir() {
			continue
		}
		m := rotatedRE.FindStringSubmatch(rest)
		if m == nil || rest == "" {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		rots = append(rots, rot{n, filepath.Join(dir, e.Name())})
	}
	sort.Slice(rots, func(i, j int) bool {
		if rots[i].n != rots[j].n {
			return rots[i].n > rots[j].n
		}
		return rots[i].path < rots[j].path
	})
	out := make([]string, 0, len(rots)+1)
	for _, r := range rots {
		out = append(out, r.path)
	}
	return append(out, path), nil
}

// Search runs q over the target's logs. Bad input gives an error matching
// ErrInput before any file is read. A cancelled or expired ctx stops the
// search; the partial result comes back with the context's error.
func (l *Logs) Search(ctx context.Context, q Query) (*Result, error) {
	start := l.now()
	cfg := l.Config()
	t, err := resolveTarget(cfg, q.Target)
	if err != nil {
		return nil, err
	}
	names := q.Logs
	if len(names) == 0 {
		names = Names(t)
		if len(names) == 0 {
			return nil, badInput("target %s has no logs configured", t.Name)
		}
	}
	m, err := compileMatcher(q.Pattern, q.Regex, q.IgnoreCase)
	if err != nil {
		return nil, err
	}
	level := ""
	if q.Level != "" {
		if level = NormalizeLevel(q.Level); level == "" {
			return nil, badInput("unknown level %q (want DEBUG, INFO, WARN, ERROR, CRITICAL or FATAL)", clipName(q.Level))
		}
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = DefaultLimit
	case limit < 0:
		return nil, badInput("--limit must be positive, got %d", limit)
	case limit > MaxLimit:
		return nil, badInput("--limit is at most %d, got %d", MaxLimit, limit)
	}
	if q.Context < 0 || q.Context > MaxContext {
		return nil, badInput("-C must be between 0 and %d, got %d", MaxContext, q.Context)
	}
	type plan struct {
		name         string
		path         string
		format       Format
		since, until time.Time
	}
	var plans []plan
	now := l.now()
	for _, name := range names {
		lf, err := lookup(t, name)
		if err != nil {
			return nil, err
		}
		f, err := FormatFor(lf)
		if err != nil {
			return nil, fmt.Errorf("log %s: %w", name, err)
		}
		p := plan{name: name, path: logPath(t, lf), format: f}
		if q.Since != "" {
			if p.since, err = ParseWhen(q.Since, now, f.Location()); err != nil {
				return nil, badInput("--since %v", err)
			}
		}
		if q.Until != "" {
			if p.until, err = ParseWhen(q.Until, now, f.Location()); err != nil {
				return nil, badInput("--until %v", err)
			}
		}
		if !p.since.IsZero() && !p.until.IsZero() && p.until.Before(p.since) {
			return nil, badInput("--until is before --since")
		}
		plans = append(plans, p)
	}

	res := &Result{Target: t.Name}
	for _, p := range plans {
		files, err := Files(p.path)
		if err != nil {
			return nil, err
		}
		for _, path := range files {
			collect := 0
			if !q.CountOnly {
				collect = max(0, limit-len(res.Matches))
			}
			so := scanOpts{m: m, red: q.Redactor, level: level, format: p.format, collect: collect, context: q.Context, workers: l.Workers, onBlock: l.onBlock}
			if q.Progress != nil {
				before := res.Bytes
				so.progress = func(n int64) { q.Progress(before + n) }
			}
			sc := newScanner(so)
			fc := FileCount{Log: p.name, Path: filepath.Base(path)}
			out, err := l.scanPath(ctx, sc, path, p.since, p.until, &fc)
			fc.Count, fc.Bytes = out.count, out.bytes
			res.Total += out.count
			res.Bytes += out.bytes
			for _, mt := range out.matches {
				mt.Log, mt.Path = p.name, fc.Path
				res.Matches = append(res.Matches, mt)
			}
			res.Files = append(res.Files, fc)
			if err != nil {
				if ctx.Err() != nil {
					res.Truncated = res.Total > int64(len(res.Matches))
					res.Elapsed = l.now().Sub(start)
					return res, fmt.Errorf("search logs: stopped in %s: %w", fc.Path, ctx.Err())
				}
				return nil, fmt.Errorf("search %s: %w", fc.Path, err)
			}
		}
	}
	res.Truncated = !q.CountOnly && res.Total > int64(len(res.Matches))
	res.Elapsed = l.now().Sub(start)
	return res, nil
}

// scanPath scans one file; a missing or unreadable file is a note, not a
// failure of the whole search.
func (l *Logs) scanPath(ctx context.Context, sc *scanner, path string, since, until time.Time, fc *FileCount) (scanOut, error) {
	f, err := os.Open(path)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			fc.Note = "missing"
		case errors.Is(err, fs.ErrPermission):
			fc.Note = "not readable"
		default:
			fc.Note = "cannot open"
		}
		return scanOut{}, nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return scanOut{}, fmt.Errorf("stat log: %w", err)
	}
	if !st.Mode().IsRegular() {
		fc.Note = "not a regular file"
		return scanOut{}, nil
	}
	if strings.HasSuffix(path, ".gz") {
		// A rotated file last written before the window holds nothing in it.
		if !since.IsZero() && st.ModTime().Before(since) {
			fc.Note = "older than --since"
			return scanOut{}, nil
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			fc.Note = "not gzip"
			return scanOut{}, nil
		}
		defer zr.Close()
		out, err := sc.scanStream(ctx, zr, since, until)
		if err != nil && ctx.Err() == nil && isCorrupt(err) {
			fc.Note = "corrupt gzip: read up to the damage"
			return out, nil
		}
		return out, err
	}
	lo, hi, err := window(f, 0, st.Size(), sc.opts.format, since, until)
	if err != nil {
		return scanOut{}, fmt.Errorf("find time window: %w", err)
	}
	if lo >= hi {
		return scanOut{}, nil
	}
	return sc.scanFile(ctx, f, lo, hi)
}

func isCorrupt(err error) bool {
	return errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) ||
		strings.Contains(err.Error(), "flate: corrupt") || strings.Contains(err.Error(), "unexpected EOF")
}

// ---- --since / --until ----

var daysRE = regexp.MustCompile(`^(\d+)([dw])$`)

// ParseWhen reads a --since/--until value: a duration back from now (90s,
// 15m, 1h, 1h30m, 2d, 1w) or a time in loc (2026-11-25T10:00,
// 2026-11-25 10:00:05, 2026-11-25), an explicit Z or ±hh:mm winning.
func ParseWhen(s string, now time.Time, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("%q: want a duration like 1h, 30m or 2d, or a time like 2026-11-25T10:00", clipName(s))
	if m := daysRE.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n > 3650 {
			return time.Time{}, bad
		}
		d := 24 * time.Hour
		if m[2] == "w" {
			d *= 7
		}
		return now.Add(-time.Duration(n) * d), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("%q: the duration must be positive", s)
		}
		return now.Add(-d), nil
	}
	if len(s) == 10 {
		if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
			return t, nil
		}
	}
	if t, n, ok := ParseISO([]byte(s), loc); ok && n == len(s) {
		return t, nil
	}
	return time.Time{}, bad
}
