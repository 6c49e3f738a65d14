package watch

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The 1 GiB access log is made once per benchmark run, in a temp dir
// removed when the benchmark ends.
var (
	bigOnce sync.Once
	bigPath string
	bigDir  string
	bigErr  error
)

const bigSize = 1 << 30

func bigAccessLog(b *testing.B) string {
	b.Helper()
	bigOnce.Do(func() {
		bigDir, bigErr = os.MkdirTemp("", "opsbot-watch-bench-")
		if bigErr != nil {
			return
		}
		bigPath = filepath.Join(bigDir, "access.log")
		bigErr = writeAccessLog(bigPath, bigSize)
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigPath
}

// writeAccessLog writes about size bytes of nginx_timed lines from 60,000
// client IPs (a few hot ones), 2 % 5xx.
func writeAccessLog(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	paths := []string{"/api/chat", "/api/login", "/health", "/api/upload", "/static/app.js"}
	var n int64
	for n < size {
		var ip uint32
		if r.IntN(10) == 0 {
			ip = 10<<24 | uint32(r.IntN(8))
		} else {
			ip = 172<<24 | 16<<16 | uint32(r.IntN(60000))
		}
		status := 200
		if r.IntN(50) == 0 {
			status = 502
		}
		k, err := fmt.Fprintf(w, "%s - - [25/Nov/2026:10:%02d:%02d +0800] \"GET %s HTTP/1.1\" %d %d \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\" %d.%03d\n",
			FormatIPv4(ip), r.IntN(60), r.IntN(60), paths[r.IntN(len(paths))], status, 200+r.IntN(5000), r.IntN(3), r.IntN(1000))
		if err != nil {
			f.Close()
			return err
		}
		n += int64(k)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cpuTime is user plus system time of this process or its waited children.
func cpuTime(who int) time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(who, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bigDir != "" {
		os.RemoveAll(bigDir)
	}
	os.Exit(code)
}

// BenchmarkAccessPass1GiB: one monitor pass over 1 GiB newly appended to a
// known access log (per-IP counts, 5xx rate, mean response time), against
// `LC_ALL=C awk '{print $1}' | sort | uniq -c` on the same file in the
// same run (reported as awk-s and speedup).
func BenchmarkAccessPass1GiB(b *testing.B) {
	path := bigAccessLog(b)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	// Warm the cache for both sides alike.
	_ = exec.Command("cat", path).Run()
	w := &Watcher{Key: "bench", Path: path, New: NewAccess, FromStart: true}
	start := time.Now()
	cpu0 := cpuTime(syscall.RUSAGE_SELF)
	var res Result
	for b.Loop() {
		// The file is known and everything in it is new since the last pass.
		w.mu.Lock()
		w.st, w.loaded = State{}, true
		w.mu.Unlock()
		res, err = w.Pass(context.Background(), time.Now())
		if err != nil {
			b.Fatal(err)
		}
	}
	per := time.Since(start) / time.Duration(b.N)
	perCPU := (cpuTime(syscall.RUSAGE_SELF) - cpu0) / time.Duration(b.N)
	a := res.Acc.(*AccessStats)
	if res.Bytes != fi.Size() || a.Requests == 0 || a.Unparsed != 0 {
		b.Fatalf("read %d of %d bytes, %d requests, %d unparsed", res.Bytes, fi.Size(), a.Requests, a.Unparsed)
	}
	b.SetBytes(fi.Size())
	b.StopTimer()
	t := time.Now()
	ccpu0 := cpuTime(syscall.RUSAGE_CHILDREN)
	cmd := exec.Command("sh", "-c", `LC_ALL=C awk '{print $1}' "$1" | LC_ALL=C sort | LC_ALL=C uniq -c > /dev/null`, "sh", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("awk pipeline: %v %s", err, out)
	}
	awk := time.Since(t)
	awkCPU := cpuTime(syscall.RUSAGE_CHILDREN) - ccpu0
	b.ReportMetric(awk.Seconds(), "awk-s")
	b.ReportMetric(perCPU.Seconds(), "pass-cpu-s")
	b.ReportMetric(awkCPU.Seconds(), "awk-cpu-s")
	b.ReportMetric(per.Seconds(), "pass-s")
	b.ReportMetric(awk.Seconds()/per.Seconds(), "speedup")
	b.Logf("pass %.3fs wall, %.3fs cpu (%d requests, %d IPs, 5xx %.2f%%, mean %s) vs awk|sort|uniq -c %.2fs wall, %.2fs cpu: %.1fx wall, %.1fx cpu",
		per.Seconds(), perCPU.Seconds(), a.Requests, a.ByIPv4.Len(), a.Rate5xx(), a.MeanResponse(), awk.Seconds(), awkCPU.Seconds(),
		awk.Seconds()/per.Seconds(), awkCPU.Seconds()/perCPU.Seconds())
}

// BenchmarkUnchangedPass1GiB: a pass over the same 1 GiB file when nothing
// was appended (target: under 1 ms).
func BenchmarkUnchangedPass1GiB(b *testing.B) {
	path := bigAccessLog(b)
	w := &Watcher{Key: "bench", Path: path, New: NewAccess}
	if _, err := w.Pass(context.Background(), time.Now()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		res, err := w.Pass(context.Background(), time.Now())
		if err != nil || res.Bytes != 0 {
			b.Fatalf("unchanged pass read %d bytes: %v", res.Bytes, err)
		}
	}
}

// BenchmarkAccessFeed: the accumulator alone on 32 MiB in memory.
func BenchmarkAccessFeed(b *testing.B) {
	path := filepath.Join(b.TempDir(), "access.log")
	if err := writeAccessLog(path, 32<<20); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	cpu0 := cpuTime(syscall.RUSAGE_SELF)
	for b.Loop() {
		a := NewAccess()
		a.Feed(data)
	}
	b.ReportMetric(float64(len(data))*float64(b.N)/(cpuTime(syscall.RUSAGE_SELF)-cpu0).Seconds()/1e6, "MB/cpu-s")
}
