// Package watch reads logs incrementally: each pass reads only the bytes
// appended since the last one, carries a partial last line over, and
// survives rotation both ways (rename-and-create: the renamed file is
// finished first; copytruncate: detected by a size below the offset or a
// changed first line). Lines go to accumulators that are fed in parallel
// blocks and merged, so a pass over a large append uses every core.
package watch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ErrMissing means the watched file does not exist (now).
var ErrMissing = errors.New("log file missing")

// ErrNotRegular means the watched path is a directory or another non-file.
var ErrNotRegular = errors.New("log path is not a regular file")

// Acc accumulates what a monitor counts. Feed gets one or more complete
// lines, each ending in '\n'; blocks of one pass may go to different Accs
// (one per worker) that are merged at the end, so an Acc must not depend on
// the order of blocks.
type Acc interface {
	Feed(lines []byte)
	Merge(other Acc)
}

// StateStore keeps a watcher's state between passes and restarts;
// *store.Store satisfies it.
type StateStore interface {
	PutState(ctx context.Context, key string, v any, now time.Time) error
	GetState(ctx context.Context, key string, v any) error
}

// State is a watched file's identity and how far it has been read.
type State struct {
	// Known is false until the first pass has seen the file (or its absence).
	Known bool   `json:"known"`
	Dev   uint64 `json:"dev"`
	Ino   uint64 `json:"ino"` // 0: no file yet; the next one is read from its start
	Size  int64  `json:"size"`
	// Offset is how far the file has been read, the partial line included.
	Offset int64 `json:"offset"`
	// HeadLen bytes at the file's start hash to HeadHash (the first line, at
	// most headMax bytes): a changed head at an equal or larger size means
	// the file was truncated and written again.
	HeadLen  int    `json:"head_len"`
	HeadHash uint64 `json:"head_hash"`
	// Partial is the last line read without its '\n' yet.
	Partial []byte `json:"partial,omitempty"`
	// Skip: inside a line longer than MaxLine, dropped up to its '\n'.
	Skip bool `json:"skip,omitempty"`
}

// Result of one pass.
type Result struct {
	Acc   Acc   // the merged accumulator (never nil)
	Bytes int64 // bytes read in this pass
	Lines int64 // complete lines fed
	// FirstSight: the file was seen for the first time.
	FirstSight bool
	// Rotated: the file was replaced (rename-and-create); RotatedFrom is where
	// the old file was found and finished, "" when it was gone (lines lost).
	Rotated     bool
	RotatedFrom string
	// Truncated: the file was truncated in place (copytruncate).
	Truncated bool
	// Dropped counts partial or over-long lines that could not be completed.
	Dropped int64
}

const (
	headMax          = 256
	defaultBlockSize = 256 << 10 // per worker, read and counted while in the core's L2 cache
	defaultMaxLine   = 1 << 20
)

// Watcher watches one file.
type Watcher struct {
	Key  string // state key in the store, e.g. "watch:api:access"
	Path string
	New  func() Acc
	// Store keeps the state across restarts; nil keeps it in memory only.
	Store StateStore
	// FromStart reads a file seen for the first time from its start; by
	// default a first pass starts at the end (history is not news).
	FromStart bool
	Workers   int // parallel feeders; default GOMAXPROCS
	BlockSize int // default 4 MiB
	MaxLine   int // longer lines are dropped; default 1 MiB

	mu     sync.Mutex
	st     State
	loaded bool
}

// State returns a copy of the current state.
func (w *Watcher) State() State {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.st
}

// Begin marks where watching starts: for a file never seen before (no
// stored state), the end of the file now, so the first Pass counts every
// line written since the bot began to watch — not only those written after
// its first pass, which would lose up to one interval of news. A stored
// state is kept as it is. Calling it again does nothing.
func (w *Watcher) Begin(ctx context.Context, now time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.loaded {
		return nil
	}
	if w.Store != nil {
		var st State
		if err := w.Store.GetState(ctx, w.Key, &st); err == nil {
			w.st = st
		}
	}
	w.loaded = true
	if w.st.Known || w.FromStart {
		return nil
	}
	var res Result
	st := w.st
	if err := w.pass(ctx, &st, &res); err != nil && !errors.Is(err, ErrMissing) && !errors.Is(err, ErrNotRegular) {
		return err
	}
	w.st = st
	if w.Store != nil {
		if err := w.Store.PutState(ctx, w.Key, st, now); err != nil {
			return fmt.Errorf("watch %s: save offset: %w", w.Path, err)
		}
	}
	return nil
}

// Pass reads what was appended since the last pass. A missing file or a
// directory in its place is reported as an error wrapping ErrMissing or
// ErrNotRegular, with the Result still holding what was read (the end of a
// renamed file). Cancellation leaves the state unchanged.
func (w *Watcher) Pass(ctx context.Context, now time.Time) (Result, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	res := Result{Acc: w.New()}
	if !w.loaded && w.Store != nil {
		var st State
		if err := w.Store.GetState(ctx, w.Key, &st); err == nil {
			w.st = st
		}
		// Any other error (not found, unreadable) starts afresh.
	}
	w.loaded = true
	before := w.st
	st := w.st // worked on; committed only when the pass completes
	err := w.pass(ctx, &st, &res)
	if err != nil && !errors.Is(err, ErrMissing) && !errors.Is(err, ErrNotRegular) {
		// Cancelled, or a read failed half-way (the file shrank under us):
		// nothing counted, nothing moved; the next pass starts over.
		return Result{Acc: w.New()}, err
	}
	w.st = st
	if w.Store != nil && !sameState(before, st) {
		if perr := w.Store.PutState(ctx, w.Key, st, now); perr != nil {
			return res, errors.Join(err, fmt.Errorf("watch %s: save offset: %w", w.Path, perr))
		}
	}
	return res, err
}

func sameState(a, b State) bool {
	return a.Known == b.Known && a.Dev == b.Dev && a.Ino == b.Ino && a.Size == b.Size &&
		a.Offset == b.Offset && a.HeadLen == b.HeadLen && a.HeadHash == b.HeadHash && a.Skip == b.Skip && bytes.Equal(a.Partial, b.Partial)
}

func (w *Watcher) pass(ctx context.Context, st *State, res *Result) error {
	fi, err := os.Stat(w.Path)
	if err != nil || !fi.Mode().IsRegular() {
		var cause error
		switch {
		case err == nil:
			cause = fmt.Errorf("watch %s: %w", w.Path, ErrNotRegular)
		case errors.Is(err, os.ErrNotExist):
			cause = fmt.Errorf("watch %s: %w", w.Path, ErrMissing)
		default:
			return fmt.Errorf("watch %s: %w", w.Path, err)
		}
		// The file was moved away (rotation before the new one exists) or
		// replaced: finish the old one if it can be found.
		if st.Ino != 0 {
			if err := w.finishRenamed(ctx, st, res); err != nil {
				return err
			}
			*st = State{Known: true}
		} else if !st.Known {
			// Not there at the first look: whatever appears later is new.
			*st = State{Known: true}
		}
		return cause
	}
	dev, ino := fileID(fi)
	switch {
	case !st.Known:
		res.FirstSight = true
		*st = State{Known: true, Dev: dev, Ino: ino}
		if !w.FromStart {
			st.Offset = fi.Size()
			st.Size = fi.Size()
			// Start after the last complete line, so a line being written
			// now is read whole next time.
			if err := w.alignStart(st); err != nil {
				return err
			}
		}
	case st.Ino == 0:
		// A new file after a gap: read from its start.
		*st = State{Known: true, Dev: dev, Ino: ino}
	case st.Dev != dev || st.Ino != ino:
		if err := w.finishRenamed(ctx, st, res); err != nil {
			return err
		}
		*st = State{Known: true, Dev: dev, Ino: ino}
	}
	f, err := os.Open(w.Path)
	if err != nil {
		return fmt.Errorf("watch %s: %w", w.Path, err)
	}
	defer f.Close()
	// Identity of what was opened: the path may have been rotated between
	// Stat and Open; then the next pass sees the change.
	ofi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("watch %s: %w", w.Path, err)
	}
	if d, i := fileID(ofi); d != st.Dev || i != st.Ino || !ofi.Mode().IsRegular() {
		return nil
	}
	size := ofi.Size()
	if size < st.Offset || !w.headSame(f, st, size) {
		res.Truncated = true
		if len(st.Partial) > 0 {
			res.Dropped++
		}
		st.Offset, st.Partial, st.HeadLen, st.HeadHash, st.Skip = 0, nil, 0, 0, false
	}
	if size > st.Offset {
		if err := w.read(ctx, f, st, size, false, res); err != nil {
			return err
		}
	}
	st.Size = size
	if st.HeadLen < headMax && size > int64(st.HeadLen) {
		w.setHead(f, st, size)
	}
	return nil
}

// alignStart moves a first-sight offset back to just after the last '\n'.
func (w *Watcher) alignStart(st *State) error {
	if st.Offset == 0 {
		return nil
	}
	f, err := os.Open(w.Path)
	if err != nil {
		return fmt.Errorf("watch %s: %w", w.Path, err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	end := st.Offset
	for end > 0 {
		start := max(end-int64(len(buf)), 0)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("watch %s: %w", w.Path, err)
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			st.Offset = start + int64(i) + 1
			return nil
		}
		end = start
	}
	st.Offset = 0
	return nil
}

// headSame reports whether the file still starts as it did.
func (w *Watcher) headSame(f *os.File, st *State, size int64) bool {
	if st.HeadLen == 0 {
		return true
	}
	if size < int64(st.HeadLen) {
		return false
	}
	var buf [headMax]byte
	n, _ := f.ReadAt(buf[:st.HeadLen], 0)
	return n == st.HeadLen && hash(buf[:n]) == st.HeadHash
}

// setHead records the file's first line (up to headMax bytes) once it is
// complete, or headMax bytes of it when the line is longer.
func (w *Watcher) setHead(f *os.File, st *State, size int64) {
	var buf [headMax]byte
	n, _ := f.ReadAt(buf[:min(int64(headMax), size)], 0)
	b := buf[:n]
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i+1]
	} else if n < headMax {
		return // the first line is not complete yet
	}
	st.HeadLen, st.HeadHash = len(b), hash(b)
}

func hash(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// finishRenamed looks for the file with the old identity beside the watched
// path (app.log.1, app.log-20261125, …), reads its rest and completes its
// last line.
func (w *Watcher) finishRenamed(ctx context.Context, st *State, res *Result) error {
	res.Rotated = true
	path := w.findByID(st.Dev, st.Ino)
	if path == "" {
		if len(st.Partial) > 0 {
			res.Dropped++
		}
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil // gone between the look and the open: counted as lost
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	if d, i := fileID(fi); d != st.Dev || i != st.Ino {
		return nil
	}
	res.RotatedFrom = path
	size := fi.Size()
	if size < st.Offset {
		// Truncated and then renamed: nothing of it can be trusted.
		res.Dropped++
		return nil
	}
	return w.read(ctx, f, st, size, true, res)
}

func (w *Watcher) findByID(dev, ino uint64) string {
	dir, base := filepath.Split(w.Path)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	for _, e := range entries {
		name := e.Name()
		if name == base || !strings.HasPrefix(name, base) || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if d, i := fileID(fi); d == dev && i == ino {
			return filepath.Join(dir, name)
		}
	}
	return ""
}

func fileID(fi os.FileInfo) (dev, ino uint64) {
	if s, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(s.Dev), s.Ino
	}
	return 0, 0
}

// lineCounter is an Acc that counts the lines it was fed.
type lineCounter interface{ LineCount() int64 }

// read feeds [st.Offset, size) of f, starting with st.Partial. With final,
// a last line without '\n' is complete (the file will not grow again).
//
// The carried partial line is completed first; the complete lines up to
// the last '\n' are then cut into blocks that the workers read and feed on
// their own (each its own ReadAt and Acc, merged at the end); what follows
// the last '\n' becomes the new partial line. st changes only on success.
func (w *Watcher) read(ctx context.Context, f *os.File, st *State, size int64, final bool, res *Result) error {
	maxLine := int64(w.MaxLine)
	if maxLine <= 0 {
		maxLine = defaultMaxLine
	}
	off, partial, skip := st.Offset, st.Partial, st.Skip
	var dropped, lines int64
	feed := func(line []byte) {
		res.Acc.Feed(line)
		lines++
	}
	// 1. Complete the line carried over (or skip the rest of an over-long one).
	if len(partial) > 0 || skip {
		nl, err := indexFrom(f, off, size, '\n')
		if err != nil {
			return fmt.Errorf("watch %s: read: %w", w.Path, err)
		}
		end := size
		if nl >= 0 {
			end = nl + 1
		}
		if !skip && int64(len(partial))+(end-off) > maxLine+1 {
			dropped++
			skip = true
			partial = nil
		}
		if !skip {
			rest := make([]byte, end-off)
			if _, err := f.ReadAt(rest, off); err != nil {
				return fmt.Errorf("watch %s: read: %w", w.Path, err)
			}
			partial = append(append([]byte(nil), partial...), rest...)
		}
		off = end
		if nl >= 0 {
			if !skip {
				feed(partial)
			}
			partial, skip = nil, false
		}
	}
	// 2. The complete lines, in parallel blocks.
	if off < size && !skip {
		last, err := lastIndex(f, off, size, '\n')
		if err != nil {
			return fmt.Errorf("watch %s: read: %w", w.Path, err)
		}
		if last >= 0 {
			n, err := w.feedBlocks(ctx, f, off, last+1, res)
			if err != nil {
				return err
			}
			lines += n
			off = last + 1
		}
		// 3. What follows the last '\n' is the new partial line.
		if size-off > maxLine {
			dropped++
			skip = true
			off = size
		} else if off < size {
			partial = make([]byte, size-off)
			if _, err := f.ReadAt(partial, off); err != nil {
				return fmt.Errorf("watch %s: read: %w", w.Path, err)
			}
			off = size
		}
	} else if off < size {
		// Still inside an over-long line with no '\n' yet.
		off = size
	}
	if final {
		if len(partial) > 0 && !skip {
			feed(append(partial, '\n'))
		}
		partial, skip = nil, false
	}
	res.Lines += lines
	res.Dropped += dropped
	res.Bytes += size - st.Offset
	st.Offset, st.Partial, st.Skip = off, partial, skip
	return nil
}

// feedBlocks feeds the complete lines of [from, to) (to-1 is a '\n') over
// the workers and merges their Accs into res.Acc. It returns the lines fed.
func (w *Watcher) feedBlocks(ctx context.Context, f *os.File, from, to int64, res *Result) (int64, error) {
	block := int64(w.BlockSize)
	if block <= 0 {
		block = defaultBlockSize
	}
	nblocks := (to - from + block - 1) / block
	workers := w.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = int(min(int64(workers), nblocks))
	accs := make([]Acc, workers)
	lines := make([]int64, workers)
	errs := make([]error, workers)
	accs[0] = w.New() // res.Acc may hold a rotated file's lines; merged below
	for i := 1; i < workers; i++ {
		accs[i] = w.New()
	}
	var next atomic.Int64
	work := func(i int) {
		buf := make([]byte, 0, block+64<<10)
		for {
			j := next.Add(1) - 1
			if j >= nblocks {
				return
			}
			if err := ctx.Err(); err != nil {
				errs[i] = err
				return
			}
			s := from + j*block
			e := min(s+block, to)
			data, err := readBlock(f, buf, s, e, from, to)
			if err != nil {
				errs[i] = fmt.Errorf("watch %s: read: %w", w.Path, err)
				return
			}
			buf = data[:0]
			if len(data) == 0 {
				continue
			}
			accs[i].Feed(data)
			if _, ok := accs[i].(lineCounter); !ok {
				lines[i] += int64(bytes.Count(data, []byte{'\n'}))
			}
		}
	}
	var wg sync.WaitGroup
	for i := 1; i < workers; i++ {
		wg.Go(func() { work(i) })
	}
	work(0)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	var total int64
	for i := range workers {
		if lc, ok := accs[i].(lineCounter); ok {
			lines[i] = lc.LineCount()
		}
		total += lines[i]
		res.Acc.Merge(accs[i])
	}
	return total, nil
}

// readBlock returns the lines that start in [s, e) of the region [from,
// to): from the first line start at or after s (a line starts after a
// '\n', or at from) through the '\n' ending the last line that starts
// before e. Neighbouring blocks apply the same rule, so every line goes to
// exactly one block.
func readBlock(f *os.File, buf []byte, s, e, from, to int64) ([]byte, error) {
	lo := s
	if s > from {
		lo = s - 1 // to see whether a line starts exactly at s
	}
	buf = buf[:0]
	read := func(a, b int64) error {
		n := len(buf)
		need := int(b - a)
		if cap(buf)-n < need {
			nb := make([]byte, n, 2*cap(buf)+need)
			copy(nb, buf)
			buf = nb
		}
		buf = buf[:n+need]
		_, err := f.ReadAt(buf[n:], a)
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("file shrank during the pass: %w", err)
		}
		return err
	}
	if err := read(lo, e); err != nil {
		return nil, err
	}
	start := 0
	if s > from {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			// No line starts in this block: it lies inside one long line
			// (its '\n' may be further on; the owning block reads it).
			return buf[:0], nil
		}
		start = i + 1
		if lo+int64(start) >= e {
			return buf[:0], nil
		}
	}
	// The end: the first '\n' at or after e-1.
	for scan := int(e - 1 - lo); ; {
		if i := bytes.IndexByte(buf[scan:], '\n'); i >= 0 {
			return buf[start : scan+i+1], nil
		}
		end := lo + int64(len(buf))
		if end >= to {
			return nil, fmt.Errorf("no line end before %d", to)
		}
		scan = len(buf)
		if err := read(end, min(end+64<<10, to)); err != nil {
			return nil, err
		}
	}
}

// indexFrom returns the position of the first c in [from, to), or -1.
func indexFrom(f *os.File, from, to int64, c byte) (int64, error) {
	buf := make([]byte, 64<<10)
	for pos := from; pos < to; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), to-pos)], pos)
		if i := bytes.IndexByte(buf[:n], c); i >= 0 {
			return pos + int64(i), nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return -1, err
		}
		if n == 0 {
			return -1, fmt.Errorf("file shrank during the pass")
		}
		pos += int64(n)
	}
	return -1, nil
}

// lastIndex returns the position of the last c in [from, to), or -1.
func lastIndex(f *os.File, from, to int64, c byte) (int64, error) {
	buf := make([]byte, 64<<10)
	for end := to; end > from; {
		start := max(end-int64(len(buf)), from)
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return -1, err
		}
		if int64(n) < end-start {
			return -1, fmt.Errorf("file shrank during the pass")
		}
		if i := bytes.LastIndexByte(buf[:n], c); i >= 0 {
			return start + int64(i), nil
		}
		end = start
	}
	return -1, nil
}
