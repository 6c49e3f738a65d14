package logs

import (
	"bytes"
	"errors"
	"io"
	"time"
)

// Log files are in time order, so the start of a --since window is found by
// binary search on byte offsets: at a probe offset, the first full line
// that carries a timestamp says on which side the window starts. Lines
// without one (stack traces) belong to the entry above them.

const (
	probeChunk   = 16 << 10
	probeMaxScan = 4 << 20 // a probe gives up after this many bytes without a timestamp
	linearSpan   = 64 << 10
)

// timeAfter returns the start and time of the first line that starts at or
// after off (off itself when it is a line start) and carries a timestamp.
// ok is false when none does before end or within probeMaxScan bytes.
func timeAfter(r io.ReaderAt, off, start, end int64, f Format, buf []byte) (int64, time.Time, bool, error) {
	return firstTimed(r, off, start, end, f, buf, probeMaxScan, nil)
}

// firstTimed walks the lines from off (skipping a partial first line) and
// returns the first whose timestamp satisfies pred (any timestamp when pred
// is nil), giving up after limit bytes.
func firstTimed(r io.ReaderAt, off, start, end int64, f Format, buf []byte, limit int64, pred func(time.Time) bool) (int64, time.Time, bool, error) {
	pos := off
	if off > start {
		pos = off - 1 // the byte before tells whether off starts a line
	}
	lineStart := int64(-1)
	if off <= start {
		lineStart = start
	}
	var carry []byte // a line split across chunks
	for pos < end && pos-off < limit {
		n := int64(len(buf))
		if end-pos < n {
			n = end - pos
		}
		got, err := r.ReadAt(buf[:n], pos)
		if got == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return 0, time.Time{}, false, err
		}
		chunk := buf[:got]
		base := pos
		pos += int64(got)
		i := 0
		if lineStart < 0 {
			nl := bytes.IndexByte(chunk, '\n')
			if nl < 0 {
				continue
			}
			i = nl + 1
			lineStart = base + int64(i)
		}
		for i < len(chunk) {
			nl := bytes.IndexByte(chunk[i:], '\n')
			if nl < 0 {
				carry = append(carry, chunk[i:]...)
				break
			}
			line := chunk[i : i+nl]
			if len(carry) > 0 {
				line = append(carry, line...)
				carry = carry[:0]
			}
			if t, ok := f.Time(line); ok && (pred == nil || pred(t)) {
				return lineStart, t, true, nil
			}
			i += nl + 1
			lineStart = base + int64(i)
		}
	}
	if len(carry) > 0 && pos >= end {
		if t, ok := f.Time(carry); ok && (pred == nil || pred(t)) {
			return lineStart, t, true, nil
		}
	}
	return 0, time.Time{}, false, nil
}

// searchTime returns the start of the first timestamped line in
// [start, end) whose time satisfies pred (pred false, then true along the
// file), or end when there is none. Untimestamped lines just before it are
// left out: they belong to the entry above.
func searchTime(r io.ReaderAt, start, end int64, f Format, pred func(time.Time) bool) (int64, error) {
	buf := make([]byte, probeChunk)
	lo, hi := start, end
	// Invariant: every timestamped line before lo fails pred.
	for hi-lo > linearSpan {
		mid := lo + (hi-lo)/2
		ls, t, ok, err := timeAfter(r, mid, start, end, f, buf)
		if err != nil {
			return 0, err
		}
		if !ok || pred(t) {
			hi = mid
		} else {
			lo = ls
		}
	}
	ls, _, ok, err := firstTimed(r, lo, start, end, f, buf, end-lo, pred)
	if err != nil || !ok {
		return end, err
	}
	return ls, nil
}

// window narrows [start, end) to the lines between since and until (zero =
// unbounded).
func window(r io.ReaderAt, start, end int64, f Format, since, until time.Time) (int64, int64, error) {
	var err error
	if !since.IsZero() {
		start, err = searchTime(r, start, end, f, func(t time.Time) bool { return !t.Before(since) })
		if err != nil {
			return 0, 0, err
		}
	}
	if !until.IsZero() && start < end {
		end, err = searchTime(r, start, end, f, func(t time.Time) bool { return t.After(until) })
		if err != nil {
			return 0, 0, err
		}
	}
	return start, end, nil
}
