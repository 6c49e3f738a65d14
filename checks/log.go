package checks

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sync"
	"time"

	"opsbot/config"
)

// logCounter counts the lines matching a pattern that a log gained since
// the last run, and sums those counts over a sliding window. Watching starts
// at the log's end on the first run; a log that shrank was rotated and is
// read from its start.
type logCounter struct {
	path   string
	re     *regexp.Regexp
	window time.Duration

	mu     sync.Mutex
	offset int64
	begun  bool
	counts []timedCount
}

type timedCount struct {
	at time.Time
	n  int
}

func newLog(c config.Check, targets []config.Target, def time.Duration) (func(ctx context.Context, now time.Time) ([]Sample, error), error) {
	var path string
	for _, t := range targets {
		if t.Name == c.Target {
			if l, ok := t.Logs[c.Log]; ok {
				path = l.Path
			}
		}
	}
	if path == "" {
		return nil, fmt.Errorf("target %q has no log %q", c.Target, c.Log)
	}
	re, err := regexp.Compile(c.Pattern)
	if err != nil {
		return nil, fmt.Errorf("pattern: %w", err)
	}
	w := c.Window
	if w <= 0 {
		w = def
	}
	if w <= 0 {
		w = 5 * time.Minute
	}
	lc := &logCounter{path: path, re: re, window: w}
	ch := &Check{cfg: c}
	return func(ctx context.Context, now time.Time) ([]Sample, error) {
		n, err := lc.count(ctx, now)
		if err != nil {
			return nil, err
		}
		return []Sample{ch.sample("", float64(n)), ch.sample("per_min", float64(n)/w.Minutes())}, nil
	}, nil
}

// count reads what the log gained and returns the matches in the window.
func (l *logCounter) count(ctx context.Context, now time.Time) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := os.Open(l.path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && l.begun {
			// Rotated away and not yet recreated: nothing new.
			return l.sum(now), nil
		}
		return 0, fmt.Errorf("log: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("log: %w", err)
	}
	if !l.begun {
		l.begun, l.offset = true, st.Size()
		return 0, nil
	}
	if st.Size() < l.offset {
		l.offset = 0
	}
	if _, err := f.Seek(l.offset, io.SeekStart); err != nil {
		return 0, fmt.Errorf("log: %w", err)
	}
	r := bufio.NewReaderSize(f, 256<<10)
	n := 0
	for {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: judge its first part, skip the rest.
			if l.re.Match(line) {
				n++
			}
			l.offset += int64(len(line))
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = r.ReadSlice('\n')
				l.offset += int64(len(line))
			}
			continue
		}
		if err != nil {
			break // a partial last line is read when it is complete
		}
		l.offset += int64(len(line))
		if l.re.Match(line) {
			n++
		}
	}
	l.counts = append(l.counts, timedCount{at: now, n: n})
	return l.sum(now), nil
}

func (l *logCounter) sum(now time.Time) int {
	cut := now.Add(-l.window)
	keep := l.counts[:0]
	total := 0
	for _, c := range l.counts {
		if c.at.After(cut) {
			keep = append(keep, c)
			total += c.n
		}
	}
	l.counts = keep
	return total
}
