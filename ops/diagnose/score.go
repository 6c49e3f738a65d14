package diagnose

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"opsbot/human"
)

// scale maps v from [lo, hi] onto [sLo, sHi], clamped: how far a number
// has gone from normal towards (and past) its alert bound decides how much
// it weighs.
func scale(v, lo, hi, sLo, sHi float64) float64 {
	if hi == lo {
		if v >= hi {
			return sHi
		}
		return sLo
	}
	f := (v - lo) / (hi - lo)
	f = min(max(f, 0), 1)
	return sLo + f*(sHi-sLo)
}

// tailLines returns the last n lines of the file within its last maxBytes.
func tailLines(path string, n int, maxBytes int64) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(st.Size()-maxBytes, 0)
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxBytes))
	if err != nil {
		return nil, err
	}
	if off > 0 {
		// Drop the partial first line.
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, nil
}

// lineTime reads the ISO time at the start of an app log line.
func lineTime(line string) (time.Time, bool) {
	ts, _, ok := strings.Cut(line, " ")
	if !ok {
		return time.Time{}, false
	}
	for _, layout := range []string{"2006-01-02T15:04:05.000-07:00", time.RFC3339Nano, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, ts); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// lineLevel is the word after the time: INFO, WARNING, ERROR…
func lineLevel(line string) string {
	f := strings.Fields(line)
	if len(f) < 2 {
		return ""
	}
	return strings.ToUpper(f[1])
}

// bytesIEC is human.Bytes for the unsigned sizes gopsutil reports.
func bytesIEC(n uint64) string { return human.Bytes(int64(min(n, 1<<63-1))) }

func pct(v float64) string { return fmt.Sprintf("%.1f %%", v) }

// verb words a suggested command.
func verb(parts ...string) string {
	var b strings.Builder
	b.WriteString("/ops")
	for _, p := range parts {
		if p != "" {
			b.WriteString(" " + p)
		}
	}
	return b.String()
}
