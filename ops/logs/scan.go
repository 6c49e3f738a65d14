package logs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"opsbot/chat"
	"opsbot/textclip"
)

// The scan reads line-aligned blocks of about 1 MiB and runs the matcher
// over the whole block (bytes.Index finds the next candidate; only
// candidate lines are looked at), with one worker per core. Blocks are
// merged in file order, so the first matches are the file's first; at most
// a few blocks are in flight, so memory stays flat whatever the file size.

const (
	blockSize     = 1 << 20
	fileBlockSize = 256 << 10 // with its margin, within a core's L2 cache
	blockMargin   = 64 << 10
	maxLineBytes  = 64 << 20 // a line longer than this is cut
	clipLine      = 2000     // bytes of a line kept in a result
)

// Line is one line of a log and its byte offset (in the decompressed stream
// for .gz files).
type Line struct {
	Off  int64  `json:"off"`
	Text string `json:"text"`
}

// Match is a matching line with its context.
type Match struct {
	Log    string `json:"log"`  // configured name: app, access, …
	Path   string `json:"path"` // file base name: app.log.1
	Line   Line   `json:"line"`
	Before []Line `json:"before,omitempty"`
	After  []Line `json:"after,omitempty"`

	beforeShort, afterShort bool // context cut by the block's edge
}

type scanOpts struct {
	m        *matcher
	red      Redactor // nil: lines are matched and kept as they are
	level    string
	format   Format
	collect  int           // matches to keep (0 = count only)
	hist     *[256]int64   // byte counts of a sample of the file, for rare bytes
	onBlock  func()        // tests: called after each block is merged
	progress func(n int64) // bytes of this file scanned so far
	context  int
	workers  int
}

type job struct {
	k    int
	off  int64
	buf  *[]byte // stream blocks: the pooled buffer holding data
	data []byte
}

type blockResult struct {
	k          int
	count      int64
	bytes      int64
	matches    []Match
	head, tail []Line
	err        error
}

// loader fills a job's block: the data, the offset of its first byte, and
// a function to call when the block is scanned (nil when none).
type loader func(j job, buf *[]byte) ([]byte, int64, func(), error)

type scanOut struct {
	count   int64
	bytes   int64
	matches []Match
}

type scanner struct {
	opts       scanOpts
	collecting atomic.Bool
}

func newScanner(o scanOpts) *scanner {
	if o.workers <= 0 {
		o.workers = runtime.GOMAXPROCS(0)
	}
	s := &scanner{opts: o}
	s.collecting.Store(o.collect > 0)
	return s
}

// run drives produce (which sends jobs in order, taking a slot of sem
// before each), the workers and the in-order merge.
func (s *scanner) run(ctx context.Context, produce func(ctx context.Context, sem chan struct{}, out chan<- job) error, load loader, release func(j job)) (scanOut, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	inflight := 2*s.opts.workers + 2
	sem := make(chan struct{}, inflight)
	jobs := make(chan job)
	results := make(chan blockResult, inflight)

	var prodErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobs)
		prodErr = produce(ctx, sem, jobs)
	}()
	var workers sync.WaitGroup
	for range s.opts.workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			f := s.opts.m.newFinder(s.opts.hist)
			var buf []byte
			for j := range jobs {
				var r blockResult
				if ctx.Err() != nil {
					r.err = ctx.Err()
				} else if data, base, done, err := load(j, &buf); err != nil {
					r.err = err
				} else {
					r = s.scanBlock(data, base, f)
					if done != nil {
						done()
					}
				}
				r.k = j.k
				if release != nil {
					release(j)
				}
				results <- r
			}
		}()
	}
	go func() {
		workers.Wait()
		close(results)
	}()

	m := merger{c: s.opts.context, limit: s.opts.collect}
	pending := map[int]blockResult{}
	next := 0
	var firstErr error
	for r := range results {
		pending[r.k] = r
		for {
			p, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			<-sem
			if p.err != nil {
				if firstErr == nil {
					firstErr = p.err
					cancel()
				}
				continue
			}
			if firstErr == nil {
				m.add(p)
				if m.full() {
					s.collecting.Store(false)
				}
				if s.opts.onBlock != nil {
					s.opts.onBlock()
				}
				if s.opts.progress != nil {
					s.opts.progress(m.bytes)
				}
			}
		}
	}
	wg.Wait()
	if firstErr == nil && prodErr != nil {
		firstErr = prodErr
	}
	return scanOut{count: m.count, bytes: m.bytes, matches: m.got}, firstErr
}

const sampleBytes = 64 << 10

// histogram counts the bytes of a sample, so finders look for the byte of
// a literal that is rarest in this file (in an access log "P" is on every
// line: HTTP/1.1).
func histogram(b []byte) *[256]int64 {
	if len(b) == 0 {
		return nil
	}
	var h [256]int64
	for _, c := range b {
		h[c]++
	}
	return &h
}

// scanBlock counts (and collects) the matching lines of one block.
//
// With a redactor, a line is matched as the user will be shown it: one
// that redaction changes is matched in its redacted form, so no pattern
// can probe a secret. The raw finder still picks the candidates, and only
// they pay for the redactor's cheap check, unless the pattern may match
// the mask itself (or has no literal): then every line is looked at.
func (s *scanner) scanBlock(data []byte, base int64, f finder) blockResult {
	o := &s.opts
	r := blockResult{bytes: int64(len(data))}
	collect := o.collect > 0 && s.collecting.Load()
	f.reset()
	v := newView(o.red, data)
	every := v != nil && o.m.seesMask
	cand := -2 // every: the next raw candidate (-1 none, -2 not looked for)
	pos := 0
	for pos < len(data) {
		p := pos
		if !every {
			if p = f.next(data, pos); p < 0 {
				break
			}
		}
		ls := pos + bytes.LastIndexByte(data[pos:p], '\n') + 1
		le := len(data)
		if i := bytes.IndexByte(data[p:], '\n'); i >= 0 {
			le = p + i
		}
		line := data[ls:le]
		pos = le + 1
		if shown, ok := v.redacted(ls, le); ok {
			if !o.m.matchShown(shown) {
				continue
			}
		} else {
			if every {
				if cand != -1 && cand < ls {
					cand = f.next(data, ls)
				}
				if cand < 0 || cand >= le {
					continue
				}
				p = cand
			}
			if !s.rawMatch(data, p, le, line, f) {
				continue
			}
		}
		if o.level != "" && o.format.Level(line) != o.level {
			continue
		}
		r.count++
		if collect && len(r.matches) < o.collect {
			r.matches = append(r.matches, s.match(v, data, ls, le, base))
		}
	}
	if o.context > 0 {
		r.head = linesAfter(v, data, 0, o.context, base)
		r.tail, _ = linesBefore(v, data, len(data), o.context, base)
	}
	return r
}

// rawMatch confirms a candidate at p in line (ending at le) as it is.
func (s *scanner) rawMatch(data []byte, p, le int, line []byte, f finder) bool {
	m := s.opts.m
	if m.anchored != nil {
		for q := p; q >= 0 && q < le; q = f.next(data, q+1) {
			if m.anchored.Match(data[q:le]) {
				return true
			}
		}
		return false
	}
	return m.verify == nil || m.verify.Match(line)
}

// Redactor masks secrets (*chat.Redactor): a search matches and returns
// lines as the user is shown them.
type Redactor interface {
	Redact(s string) string
	// Suspect reports whether Redact might change line; false is a promise.
	Suspect(line []byte) bool
	// KeyLines are the spans of whole lines that belong to secrets over
	// several lines (private-key blocks): each such line shows as the mask.
	KeyLines(block []byte) [][2]int
}

// view is a block as the user is shown it.
type view struct {
	red  Redactor
	data []byte
	// keys are the private-key spans of the whole block, found (keysDone)
	// once a key marker, or a line that may be a key's body, is met.
	// Until then seen is how far the block is known to hold no marker:
	// the markers are looked for in the part the search has reached, while
	// it is in the cache, not in a second pass over the whole block.
	keys     [][2]int
	keysDone bool
	seen     int
}

func newView(red Redactor, data []byte) *view {
	if red == nil {
		return nil
	}
	return &view{red: red, data: data}
}

// keyMarkerLen is the length of "PRIVATE KEY", the marker of a key
// block's BEGIN and END lines.
const keyMarkerLen = 11

// keySpans returns the private-key spans that may hold the line [ls, le).
// A span holds a line only after its BEGIN line (a marker before le) or
// as a base64 line before its END line: a line that is not base64 and
// has no marker up to its end is in no span.
func (v *view) keySpans(ls, le int) [][2]int {
	if v.keysDone {
		return v.keys
	}
	end := min(len(v.data), le+keyMarkerLen)
	if (v.seen < end && chat.MayHoldKeyMarker(v.data[v.seen:end])) || maybeBase64(v.data[ls:le]) {
		v.keys, v.keysDone = v.red.KeyLines(v.data), true
		return v.keys
	}
	v.seen = max(v.seen, le+1)
	return nil
}

// maybeBase64 reports whether a line may be a line of a key's body.
func maybeBase64(b []byte) bool {
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' || c == '\r') {
			return false
		}
	}
	return true
}

// redacted returns the line [ls, le) redacted, when redaction changes it.
func (v *view) redacted(ls, le int) (string, bool) {
	if v == nil {
		return "", false
	}
	for _, k := range v.keySpans(ls, le) {
		if ls >= k[0] && ls < k[1] {
			return chat.Mask, true
		}
	}
	line := v.data[ls:le]
	if !v.red.Suspect(line) {
		return "", false
	}
	t := v.red.Redact(string(line))
	if t == string(line) {
		return "", false
	}
	return t, true
}

// text is the line [ls, le) as shown: redacted, cut to about clipLine bytes.
func (v *view) text(data []byte, ls, le int) string {
	if t, ok := v.redacted(ls, le); ok {
		return clipString(t)
	}
	return clip(data[ls:le])
}

func (s *scanner) match(v *view, data []byte, ls, le int, base int64) Match {
	m := Match{Line: Line{Off: base + int64(ls), Text: v.text(data, ls, le)}}
	if c := s.opts.context; c > 0 {
		m.Before, m.beforeShort = linesBefore(v, data, ls, c, base)
		next := min(le+1, len(data))
		m.After = linesAfter(v, data, next, c, base)
		m.afterShort = len(m.After) < c
	}
	return m
}

// linesBefore returns up to n lines ending before offset end (a line
// start), and whether the block's start cut them short.
func linesBefore(v *view, data []byte, end, n int, base int64) ([]Line, bool) {
	if end > 0 && end == len(data) && data[end-1] == '\n' {
		end-- // the block's last newline ends the last line
	} else if end > 0 {
		end-- // the newline before the line at end
	}
	var out []Line
	for len(out) < n && end > 0 {
		ls := bytes.LastIndexByte(data[:end], '\n') + 1
		out = append(out, Line{Off: base + int64(ls), Text: v.text(data, ls, end)})
		end = ls - 1
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, len(out) < n
}

// linesAfter returns up to n lines starting at from (a line start).
func linesAfter(v *view, data []byte, from, n int, base int64) []Line {
	var out []Line
	for len(out) < n && from < len(data) {
		le := len(data)
		if i := bytes.IndexByte(data[from:], '\n'); i >= 0 {
			le = from + i
		}
		out = append(out, Line{Off: base + int64(from), Text: v.text(data, from, le)})
		from = le + 1
	}
	return out
}

// clip copies a line as valid UTF-8, cut to at most clipLine bytes on a
// character boundary.
func clip(b []byte) string {
	if len(b) > clipLine {
		// Only the start is kept: copy no more of a long line than that.
		return textclip.Bytes(string(b[:clipLine]), clipLine-len(textclip.Ellipsis), "") + textclip.Ellipsis
	}
	return textclip.Bytes(string(b), clipLine, textclip.Ellipsis)
}

func clipString(s string) string {
	if len(s) > clipLine {
		return clip([]byte(s))
	}
	return s
}

// merger joins block results in order, keeps the first matches and mends
// context lines cut by block edges.
type merger struct {
	c, limit     int
	count, bytes int64
	got          []Match
	pending      []int // matches still short of after-context
	prevTail     []Line
}

func (m *merger) full() bool { return len(m.got) >= m.limit }

func (m *merger) add(r blockResult) {
	m.count += r.count
	m.bytes += r.bytes
	if m.c > 0 {
		still := m.pending[:0]
		for _, i := range m.pending {
			mt := &m.got[i]
			take := min(m.c-len(mt.After), len(r.head))
			mt.After = append(mt.After, r.head[:take]...)
			if len(mt.After) < m.c && len(r.head) < m.c {
				still = append(still, i)
			}
		}
		m.pending = still
	}
	for _, mt := range r.matches {
		if m.full() {
			break
		}
		if m.c > 0 && mt.beforeShort && len(m.prevTail) > 0 {
			need := min(m.c-len(mt.Before), len(m.prevTail))
			mt.Before = append(append([]Line(nil), m.prevTail[len(m.prevTail)-need:]...), mt.Before...)
		}
		m.got = append(m.got, mt)
		if m.c > 0 && mt.afterShort {
			m.pending = append(m.pending, len(m.got)-1)
		}
	}
	if m.c > 0 {
		if len(r.tail) >= m.c {
			m.prevTail = r.tail
		} else {
			t := append(append([]Line(nil), m.prevTail...), r.tail...)
			m.prevTail = t[max(0, len(t)-m.c):]
		}
	}
}

// ---- plain files ----

// scanFile scans the lines of r between start and end, read with pread
// in blocks of fileBlockSize into a buffer each worker reuses: the block
// is searched while it is still in the core's cache. Mapping the file was
// measured four to five times slower in CPU on a virtual machine (a fault
// and a TLB miss per page), and no faster elsewhere.
func (s *scanner) scanFile(ctx context.Context, r io.ReaderAt, start, end int64) (scanOut, error) {
	size := int64(fileBlockSize)
	if f, ok := r.(*os.File); ok && end-start >= 8*size {
		adviseSequential(f)
	}
	fetch := func(from, n int64, buf *[]byte) ([]byte, func(), error) {
		if int64(cap(*buf)) < n {
			*buf = make([]byte, n)
		}
		data := (*buf)[:n]
		got, err := r.ReadAt(data, from)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, nil, fmt.Errorf("read log: %w", err)
		}
		return data[:got], nil, nil
	}
	produce := func(ctx context.Context, sem chan struct{}, out chan<- job) error {
		for k, a := 0, start; a < end; k, a = k+1, a+size {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case out <- job{k: k, off: a}:
			case <-ctx.Done():
				<-sem
				return ctx.Err()
			}
		}
		return nil
	}
	sample := make([]byte, min(sampleBytes, end-start))
	n, _ := r.ReadAt(sample, start)
	s.opts.hist = histogram(sample[:n])
	load := func(j job, buf *[]byte) ([]byte, int64, func(), error) {
		return alignBlock(fetch, buf, j.off, min(j.off+size, end), start, end)
	}
	return s.run(ctx, produce, load, nil)
}

// alignBlock fetches the lines that start in [a, b) of the window
// [start, end): the line holding byte a-1 belongs to the block before, and
// the last line may run past b.
func alignBlock(fetch func(from, n int64, buf *[]byte) ([]byte, func(), error), buf *[]byte, a, b, start, end int64) ([]byte, int64, func(), error) {
	from := a
	if a > start {
		from = a - 1
	}
	want := min(b+blockMargin, end) - from
	for {
		data, done, err := fetch(from, want, buf)
		if err != nil {
			return nil, 0, nil, err
		}
		atEnd := from+int64(len(data)) >= end || int64(len(data)) < want // a shrunk file ends early
		s := 0
		if a > start {
			i := bytes.IndexByte(data, '\n')
			if i < 0 && !atEnd {
				release(done)
				want *= 2
				continue
			}
			if i < 0 {
				release(done)
				return nil, 0, nil, nil
			}
			s = i + 1
		}
		if from+int64(s) >= b {
			release(done)
			return nil, 0, nil, nil
		}
		cut := int(b - 1 - from)
		if cut >= len(data) {
			return data[s:], from + int64(s), done, nil
		}
		if j := bytes.IndexByte(data[cut:], '\n'); j >= 0 {
			return data[s : cut+j+1], from + int64(s), done, nil
		}
		if atEnd || want >= maxLineBytes {
			return data[s:], from + int64(s), done, nil
		}
		release(done)
		want = min(want*2, end-from)
	}
}

func release(done func()) {
	if done != nil {
		done()
	}
}

// ---- streams (.gz) ----

// scanStream scans a stream (a decompressed .gz), cutting it to the time
// window block by block, since a stream cannot be searched by offset.
func (s *scanner) scanStream(ctx context.Context, r io.Reader, since, until time.Time) (scanOut, error) {
	br := bufio.NewReaderSize(r, sampleBytes)
	sample, _ := br.Peek(sampleBytes)
	s.opts.hist = histogram(sample)
	var rd io.Reader = br
	inflight := 2*s.opts.workers + 2
	pool := make(chan *[]byte, inflight+s.opts.workers+2)
	for range cap(pool) {
		b := make([]byte, blockSize)
		pool <- &b
	}
	getBuf := func(ctx context.Context) (*[]byte, error) {
		select {
		case b := <-pool:
			return b, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	produce := func(ctx context.Context, sem chan struct{}, out chan<- job) error {
		started, done := since.IsZero(), false
		var off int64 // decompressed offset of cur[0]
		cur, err := getBuf(ctx)
		if err != nil {
			return err
		}
		fill := 0
		k := 0
		eof := false
		for !eof && !done {
			n, err := readFull(rd, (*cur)[fill:])
			fill += n
			if errors.Is(err, io.EOF) {
				eof = true
			} else if err != nil {
				return fmt.Errorf("read log: %w", err)
			}
			if fill == 0 {
				break
			}
			blk := (*cur)[:fill]
			if !eof {
				nl := bytes.LastIndexByte(blk, '\n')
				if nl < 0 {
					if len(*cur) >= maxLineBytes {
						nl = len(blk) - 1 // cut a monster line
					} else {
						bigger := make([]byte, 2*len(*cur))
						copy(bigger, blk)
						*cur = bigger
						continue
					}
				}
				blk = blk[:nl+1]
			}
			next, err := getBuf(ctx)
			if err != nil {
				return err
			}
			rest := (*cur)[len(blk):fill]
			if len(*next) < len(rest)+blockSize/2 {
				*next = make([]byte, max(blockSize, 2*len(rest)))
			}
			fill = copy(*next, rest)
			lo, hi := 0, len(blk)
			if !started {
				lo64, err := searchTime(bytes.NewReader(blk), 0, int64(len(blk)), s.opts.format, func(t time.Time) bool { return !t.Before(since) })
				if err != nil {
					return err
				}
				lo = int(lo64)
				started = lo < len(blk)
			}
			if started && !until.IsZero() {
				hi64, err := searchTime(bytes.NewReader(blk), int64(lo), int64(len(blk)), s.opts.format, func(t time.Time) bool { return t.After(until) })
				if err != nil {
					return err
				}
				hi = int(hi64)
				done = hi < len(blk)
			}
			blkOff := off
			off += int64(len(blk))
			if lo >= hi {
				pool <- cur
				cur = next
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
			j := job{k: k, off: blkOff + int64(lo), buf: cur, data: blk[lo:hi]}
			select {
			case out <- j:
			case <-ctx.Done():
				<-sem
				return ctx.Err()
			}
			k++
			cur = next
		}
		return nil
	}
	load := func(j job, _ *[]byte) ([]byte, int64, func(), error) { return j.data, j.off, nil, nil }
	release := func(j job) {
		select {
		case pool <- j.buf:
		default:
		}
	}
	return s.run(ctx, produce, load, release)
}

// readFull fills b; unlike io.ReadFull it keeps a stream's own
// io.ErrUnexpectedEOF (a truncated .gz) apart from a clean end (io.EOF).
func readFull(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
