package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

const (
	tailChunk   = 64 << 10
	tailMaxRead = 8 << 20 // a tail never reads more than this from the end
)

// TailResult is the end of one log.
type TailResult struct {
	Target string   `json:"target"`
	Log    string   `json:"log"`
	Path   string   `json:"path"` // base name
	Lines  []string `json:"lines"`
	// Cut is true when the lines were longer than a tail reads.
	Cut bool `json:"cut,omitempty"`
}

// Tail returns the last n lines of a target's log (the current file),
// reading backwards from the end: a 10 GB log costs the same as a small one.
func (l *Logs) Tail(ctx context.Context, target, name string, n int) (*TailResult, error) {
	if n == 0 {
		n = DefaultTail
	}
	if n < 0 || n > MaxTail {
		return nil, badInput("the number of lines must be between 1 and %d, got %d", MaxTail, n)
	}
	t, err := resolveTarget(l.Config(), target)
	if err != nil {
		return nil, err
	}
	lf, err := lookup(t, name)
	if err != nil {
		return nil, err
	}
	path := logPath(t, lf)
	res := &TailResult{Target: t.Name, Log: name, Path: filepath.Base(path)}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, badInput("log %s has no file yet (%s)", name, res.Path)
		}
		return nil, fmt.Errorf("open log %s: %w", name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat log %s: %w", name, err)
	}
	if !st.Mode().IsRegular() {
		return nil, badInput("log %s is not a regular file", name)
	}
	end := st.Size()
	var chunks [][]byte // read backwards: chunks[0] is the last one
	pos, nl := end, 0
	for pos > 0 && nl <= n { // n+1 newlines: n whole lines after the first
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("tail log %s: %w", name, err)
		}
		if end-pos >= tailMaxRead {
			res.Cut = true
			break
		}
		size := min(int64(tailChunk), pos)
		chunk := make([]byte, size)
		if _, err := f.ReadAt(chunk, pos-size); err != nil {
			return nil, fmt.Errorf("read log %s: %w", name, err)
		}
		nl += bytes.Count(chunk, []byte{'\n'})
		if pos == end && chunk[len(chunk)-1] == '\n' {
			nl-- // the newline ending the file ends the last line
		}
		chunks = append(chunks, chunk)
		pos -= size
	}
	slices.Reverse(chunks)
	data := bytes.Join(chunks, nil)
	data = bytes.TrimSuffix(data, []byte{'\n'})
	if len(data) == 0 {
		return res, nil
	}
	lines := bytes.Split(data, []byte{'\n'})
	if pos > 0 || res.Cut {
		lines = lines[1:] // the first piece is the end of an older line
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for _, ln := range lines {
		res.Lines = append(res.Lines, clip(ln))
	}
	return res, nil
}
