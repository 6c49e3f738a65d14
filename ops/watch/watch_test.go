package watch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"opsbot/ops/logs"
	"opsbot/store"
	"opsbot/store/storetest"
)

// seen records every line fed, to prove each is counted exactly once.
type seen struct{ m map[string]int }

func newSeen() Acc { return &seen{m: map[string]int{}} }

func (s *seen) Feed(lines []byte) {
	if len(lines) == 0 || lines[len(lines)-1] != '\n' {
		panic(fmt.Sprintf("fed a block not ending in a newline: %q", lines))
	}
	for _, l := range strings.SplitAfter(string(lines), "\n") {
		if l != "" {
			s.m[strings.TrimSuffix(l, "\n")]++
		}
	}
}

func (s *seen) Merge(o Acc) {
	for k, v := range o.(*seen).m {
		s.m[k] += v
	}
}

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

type tally struct {
	t     *testing.T
	count map[string]int
}

func (ta *tally) add(r Result) {
	for k, v := range r.Acc.(*seen).m {
		ta.count[k] += v
	}
}

func pass(t *testing.T, w *Watcher) Result {
	t.Helper()
	r, err := w.Pass(context.Background(), t0)
	if err != nil {
		t.Fatalf("pass: %v", err)
	}
	return r
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestPartialLineCarriedOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	appendTo(t, path, "one\ntw")
	w := &Watcher{Key: "k", Path: path, New: newSeen, FromStart: true}
	r := pass(t, w)
	if got := r.Acc.(*seen).m; len(got) != 1 || got["one"] != 1 || r.Lines != 1 || !r.FirstSight {
		t.Fatalf("first pass %+v %v", r, got)
	}
	if st := w.State(); string(st.Partial) != "tw" || st.Offset != 6 {
		t.Fatalf("state %+v", st)
	}
	appendTo(t, path, "o\nthree\n")
	r = pass(t, w)
	if got := r.Acc.(*seen).m; len(got) != 2 || got["two"] != 1 || got["three"] != 1 || r.Bytes != 8 {
		t.Fatalf("second pass %+v %v", r, got)
	}
	// Unchanged: nothing read.
	r = pass(t, w)
	if r.Bytes != 0 || r.Lines != 0 {
		t.Fatalf("unchanged pass read %d bytes", r.Bytes)
	}
}

func TestFirstSightStartsAtEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	appendTo(t, path, "old 1\nold 2\nhalf")
	w := &Watcher{Key: "k", Path: path, New: newSeen}
	r := pass(t, w)
	if r.Lines != 0 {
		t.Fatalf("history was read: %v", r.Acc.(*seen).m)
	}
	appendTo(t, path, " line\nnew\n")
	r = pass(t, w)
	if got := r.Acc.(*seen).m; len(got) != 2 || got["half line"] != 1 || got["new"] != 1 {
		t.Fatalf("got %v", got)
	}
}

// TestRenameAndCreate does logrotate's rename dance several times, with
// lines written to the old file after the last pass and a partial line at
// the moment of the rename, and checks that every line is counted once.
func TestRenameAndCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	appendTo(t, path, "")
	w := &Watcher{Key: "k", Path: path, New: newSeen, FromStart: true}
	ta := &tally{t: t, count: map[string]int{}}
	n := 0
	line := func() string { n++; return fmt.Sprintf("line %d", n) }
	for cycle := range 4 {
		for range 5 {
			appendTo(t, path, line()+"\n")
		}
		ta.add(pass(t, w))
		for range 3 {
			appendTo(t, path, line()+"\n")
		}
		// A line cut in the middle at the rename, finished in the old file
		// by the writer still holding it open.
		l := line()
		appendTo(t, path, l[:3])
		ta.add(pass(t, w))
		old := path + fmt.Sprintf(".%d", cycle+1)
		if err := os.Rename(path, old); err != nil {
			t.Fatal(err)
		}
		appendTo(t, old, l[3:]+"\n")
		if cycle%2 == 1 {
			// Without a final newline: the rotated file is complete, so its
			// last line counts too.
			appendTo(t, old, line())
		}
		appendTo(t, path, line()+"\n")
		r := pass(t, w)
		if !r.Rotated || r.RotatedFrom != old {
			t.Fatalf("cycle %d: rotation not seen: %+v", cycle, r)
		}
		ta.add(r)
	}
	appendTo(t, path, line()+"\n")
	ta.add(pass(t, w))
	for i := 1; i <= n; i++ {
		if c := ta.count[fmt.Sprintf("line %d", i)]; c != 1 {
			t.Errorf("line %d counted %d times", i, c)
		}
	}
	if len(ta.count) != n {
		t.Errorf("%d distinct lines, want %d: %v", len(ta.count), n, ta.count)
	}
}

// TestRenameBeforeCreate: the pass runs between the rename and the
// creation of the new file.
func TestRenameBeforeCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendTo(t, path, "a\n")
	w := &Watcher{Key: "k", Path: path, New: newSeen, FromStart: true}
	ta := &tally{t: t, count: map[string]int{}}
	ta.add(pass(t, w))
	appendTo(t, path, "b\n")
	if err := os.Rename(path, path+"-20261125"); err != nil {
		t.Fatal(err)
	}
	r, err := w.Pass(context.Background(), t0)
	if !errors.Is(err, ErrMissing) || !r.Rotated {
		t.Fatalf("want missing after rotation, got %v %+v", err, r)
	}
	ta.add(r)
	appendTo(t, path, "c\n")
	ta.add(pass(t, w))
	if fmt.Sprint(ta.count) != "map[a:1 b:1 c:1]" {
		t.Fatalf("counts %v", ta.count)
	}
}

// TestCopyTruncate copies the file aside and truncates it in place, as
// logrotate's copytruncate does, then writes again: shorter and longer
// than the old offset. No line may be counted twice.
func TestCopyTruncate(t *testing.T) {
	for _, after := range []int{2, 40} {
		t.Run(fmt.Sprint(after), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "app.log")
			appendTo(t, path, "")
			w := &Watcher{Key: "k", Path: path, New: newSeen, FromStart: true}
			ta := &tally{t: t, count: map[string]int{}}
			for i := range 10 {
				appendTo(t, path, fmt.Sprintf("before %d\n", i))
			}
			ta.add(pass(t, w))
			copyFile(t, path, path+".1")
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
			for i := range after {
				appendTo(t, path, fmt.Sprintf("after %d\n", i))
			}
			r := pass(t, w)
			if !r.Truncated {
				t.Fatalf("truncation not seen: %+v (state %+v)", r, w.State())
			}
			ta.add(r)
			appendTo(t, path, "last\n")
			ta.add(pass(t, w))
			for k, c := range ta.count {
				if c != 1 {
					t.Errorf("%q counted %d times", k, c)
				}
			}
			if len(ta.count) != 10+after+1 {
				t.Errorf("counted %d lines, want %d", len(ta.count), 10+after+1)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	out.Close()
}

func TestMissingTruncatedDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "error.log")
	w := &Watcher{Key: "k", Path: path, New: newSeen}
	if _, err := w.Pass(context.Background(), t0); !errors.Is(err, ErrMissing) {
		t.Fatalf("missing at first look: %v", err)
	}
	// Appears later: new, so read from its start even without FromStart.
	appendTo(t, path, "x\n")
	if r := pass(t, w); r.Acc.(*seen).m["x"] != 1 {
		t.Fatalf("new file not read from start: %v", r.Acc.(*seen).m)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Pass(context.Background(), t0); !errors.Is(err, ErrMissing) {
		t.Fatalf("deleted: %v", err)
	}
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Pass(context.Background(), t0); !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "error.log") {
		t.Fatalf("directory: %v", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	appendTo(t, path, "y\nz\n")
	r := pass(t, w)
	if got := r.Acc.(*seen).m; len(got) != 2 || got["y"] != 1 {
		t.Fatalf("after directory: %v", got)
	}
	// Truncated to shorter than the offset.
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	r = pass(t, w)
	if !r.Truncated || r.Lines != 0 {
		t.Fatalf("truncate: %+v", r)
	}
	appendTo(t, path, "w\n")
	if r := pass(t, w); r.Acc.(*seen).m["w"] != 1 {
		t.Fatalf("after truncate: %v", r.Acc.(*seen).m)
	}
}

func TestOverlongLineDropped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	appendTo(t, path, "ok 1\n"+strings.Repeat("x", 3000))
	w := &Watcher{Key: "k", Path: path, New: newSeen, FromStart: true, MaxLine: 1000, BlockSize: 512}
	r := pass(t, w)
	appendTo(t, path, strings.Repeat("y", 100)+"\nok 2\n")
	r2 := pass(t, w)
	if r.Dropped+r2.Dropped != 1 || r.Acc.(*seen).m["ok 1"] != 1 || len(r2.Acc.(*seen).m) != 1 || r2.Acc.(*seen).m["ok 2"] != 1 {
		t.Fatalf("dropped %d+%d, seen %v then %v", r.Dropped, r2.Dropped, r.Acc.(*seen).m, r2.Acc.(*seen).m)
	}
}

// TestParallelMatchesSequential feeds the same data in small blocks over
// several workers and in one go, and compares.
func TestParallelMatchesSequential(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	var b bytes.Buffer
	for i := range 20000 {
		fmt.Fprintf(&b, "10.0.%d.%d - - [25/Nov/2026:10:00:00 +0800] \"GET /api/%d HTTP/1.1\" %d 12 \"-\" \"ua\" 0.%03d\n", i%7, i%200, i, 200+300*(i%13/12), i%1000)
		if i%1000 == 0 {
			b.WriteString("garbage line\n")
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	par := &Watcher{Key: "p", Path: path, New: NewAccess, FromStart: true, Workers: 2, BlockSize: 4096}
	seq := &Watcher{Key: "s", Path: path, New: NewAccess, FromStart: true, Workers: 1}
	rp, rs := pass(t, par), pass(t, seq)
	ap, as := rp.Acc.(*AccessStats), rs.Acc.(*AccessStats)
	if ap.Requests != 20000 || ap.Unparsed != 20 || rp.Lines != 20020 {
		t.Fatalf("parallel: %d requests, %d unparsed, %d lines", ap.Requests, ap.Unparsed, rp.Lines)
	}
	if ap.Requests != as.Requests || ap.Err5xx != as.Err5xx || ap.RTSum != as.RTSum || ap.ByIPv4.Len() != as.ByIPv4.Len() {
		t.Fatalf("parallel %+v != sequential %+v", ap, as)
	}
	as.ByIPv4.Each(func(k uint32, v int64) {
		if ap.ByIPv4.Get(k) != v {
			t.Fatalf("ip %s: %d vs %d", FormatIPv4(k), ap.ByIPv4.Get(k), v)
		}
	})
	// i%13==12 → status 500.
	want5xx := int64(0)
	for i := range 20000 {
		if i%13 == 12 {
			want5xx++
		}
	}
	if ap.Err5xx != want5xx {
		t.Fatalf("5xx %d, want %d", ap.Err5xx, want5xx)
	}
}

func TestParseIPv4(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{{"10.0.0.1", true}, {"255.255.255.255", true}, {"0.0.0.0", true}, {"256.1.1.1", false}, {"1.2.3", false}, {"1.2.3.4.5", false}, {"1..2.3", false}, {"::1", false}, {"1.2.3.4a", false}, {"1234.1.1.1", false}} {
		ip, ok := ParseIPv4([]byte(c.in))
		if ok != c.ok || (ok && FormatIPv4(ip) != c.in) {
			t.Errorf("%q: %v %v %q", c.in, ip, ok, FormatIPv4(ip))
		}
	}
}

// TestStateSurvivesRestart keeps offsets in a real store: a new watcher
// (a restarted bot) continues where the old one stopped.
func TestStateSurvivesRestart(t *testing.T) {
	st := storetest.SQLite(t)
	path := filepath.Join(t.TempDir(), "app.log")
	appendTo(t, path, "a\nb\n")
	w1 := &Watcher{Key: "watch:api:app", Path: path, New: newSeen, Store: st, FromStart: true}
	pass(t, w1)
	appendTo(t, path, "c\n")
	w2 := &Watcher{Key: "watch:api:app", Path: path, New: newSeen, Store: st}
	r := pass(t, w2)
	if got := r.Acc.(*seen).m; len(got) != 1 || got["c"] != 1 || r.FirstSight {
		t.Fatalf("after restart: %v %+v", got, r)
	}
}

func TestCancelledPassKeepsOffset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	appendTo(t, path, "a\n")
	w := &Watcher{Key: "k", Path: path, New: newSeen, FromStart: true}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Pass(ctx, t0); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
	if r := pass(t, w); r.Acc.(*seen).m["a"] != 1 {
		t.Fatalf("line lost after a cancelled pass: %v", r.Acc.(*seen).m)
	}
}

// TestAccessFastAgreesWithParseNginx: the fast path reads what the full
// parser reads, or steps aside.
func TestAccessFastAgreesWithParseNginx(t *testing.T) {
	lines := []string{
		`10.0.0.1 - - [25/Nov/2026:10:00:00 +0800] "GET /api/chat HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11)" 0.123`,
		`10.0.0.1 - bob [25/Nov/2026:10:00:00 +0800] "POST /login HTTP/1.1" 502 0 "https://x/" "curl/8" 12.5`,
		`10.0.0.1 - - [25/Nov/2026:10:00:00 +0800] "GET / HTTP/1.1" 404 0 "-" "curl/8"`,
		`2001:db8::1 - - [25/Nov/2026:10:00:00 +0800] "GET / HTTP/1.1" 301 0 "-" "a b c" 0.004` + "\r",
		`10.0.0.1 - - [25/Nov/2026:10:00:00 +0800] "GET /\"q\" HTTP/1.1" 200 5 "-" "ua" 1`,
		`10.0.0.1 - - [25/Nov/2026:10:00:00 +0800] "-" 400 0 "-" "-" 0.000`,
		`10.0.0.1 - - [25/Nov/2026:10:00:00 +0800] "GET / HTTP/1.1" 2x0 0 "-" "-" 0.1`,
		`garbage`,
		`10.0.0.1 - - [25/Nov/2026:10:00:00 +0800] "GET / HTTP/1.1" 200 0 "-" "-" 0.1x`,
	}
	for _, l := range lines {
		ip, st, rt, hasRT, ok := accessFast([]byte(l))
		f, fok := logs.ParseNginx([]byte(l))
		if !ok {
			continue // ParseNginx decides
		}
		if !fok || string(ip) != string(f.IP) || st != f.Status || rt != f.RequestTime || hasRT != f.HasRequestTime {
			t.Errorf("%q: fast %s %d %s %v, full %v %+v", l, ip, st, rt, hasRT, fok, f)
		}
	}
	var fed int
	a := NewAccess().(*AccessStats)
	for _, l := range lines {
		a.Feed([]byte(l + "\n"))
		fed++
	}
	if a.Lines != int64(fed) || a.Requests+a.Unparsed != a.Lines || a.Unparsed != 2 {
		t.Fatalf("lines %d requests %d unparsed %d", a.Lines, a.Requests, a.Unparsed)
	}
}

// TestBlockBoundaries cuts the same lines into blocks of every small size,
// lines longer than a block included: each line is fed exactly once.
func TestBlockBoundaries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	var b strings.Builder
	want := map[string]int{}
	for i := range 300 {
		l := fmt.Sprintf("%d %s", i, strings.Repeat("x", (i*7919)%61))
		b.WriteString(l + "\n")
		want[l]++
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for block := 1; block <= 70; block++ {
		w := &Watcher{Key: "k", Path: path, New: newSeen, FromStart: true, Workers: 3, BlockSize: block}
		r := pass(t, w)
		got := r.Acc.(*seen).m
		if fmt.Sprint(got) != fmt.Sprint(want) || r.Lines != 300 {
			t.Fatalf("block %d: %d lines, %d distinct", block, r.Lines, len(got))
		}
	}
}

// Lines written between the start of watching and the first pass are news:
// a burst in the first interval after the bot starts must be counted.
func TestBeginCountsLinesBeforeTheFirstPass(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		path := filepath.Join(t.TempDir(), "security.log")
		appendTo(t, path, "history 1\nhistory 2\n")
		w := &Watcher{Key: "watch:demo:security", Path: path, New: newSeen, Store: st}
		if err := w.Begin(context.Background(), t0); err != nil {
			t.Fatal(err)
		}
		appendTo(t, path, "login failed 1\nlogin failed 2\n")
		r := pass(t, w)
		if got := r.Acc.(*seen).m; len(got) != 2 || got["login failed 1"] != 1 || got["login failed 2"] != 1 {
			t.Fatalf("first pass after Begin saw %v, want the two lines written since", got)
		}
		// A restarted bot keeps the stored offset: Begin does not move it
		// to the end again.
		appendTo(t, path, "while down\n")
		w2 := &Watcher{Key: "watch:demo:security", Path: path, New: newSeen, Store: st}
		if err := w2.Begin(context.Background(), t0); err != nil {
			t.Fatal(err)
		}
		if got := pass(t, w2).Acc.(*seen).m; len(got) != 1 || got["while down"] != 1 {
			t.Fatalf("after a restart saw %v, want the line written while down", got)
		}
	})
}
