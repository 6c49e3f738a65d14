package ops

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestRunArgvOutputAndExit(t *testing.T) {
	res, err := RunArgv(context.Background(), []string{"sh", "-c", "echo out; echo err >&2; exit 3"}, t.TempDir(), nil, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("err = %v, want exit status 3", err)
	}
	if res.ExitCode != 3 || !strings.Contains(res.Output, "out") || !strings.Contains(res.Output, "err") {
		t.Fatalf("res = %+v", res)
	}
	res, err = RunArgv(context.Background(), []string{"pwd"}, "/", nil, 10*time.Second)
	if err != nil || res.ExitCode != 0 || strings.TrimSpace(res.Output) != "/" {
		t.Fatalf("pwd: %+v %v", res, err)
	}
}

func TestRunArgvEmpty(t *testing.T) {
	_, err := RunArgv(context.Background(), nil, "", nil, time.Second)
	if err == nil || !strings.Contains(err.Error(), "empty argv") {
		t.Fatalf("err = %v", err)
	}
	_, err = RunArgv(context.Background(), []string{"/nonexistent/prog"}, "", nil, time.Second)
	if err == nil {
		t.Fatal("missing program ran")
	}
}

func TestRunArgvTail(t *testing.T) {
	res, err := RunArgv(context.Background(), []string{"sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done"}, "", nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Output) > TailBytes || !res.Truncated || !strings.HasSuffix(res.Output, "line1999\n") || strings.Contains(res.Output, "line10\n") {
		t.Fatalf("tail wrong: len %d truncated %v", len(res.Output), res.Truncated)
	}
}

// A hanging command and the child it started are both killed at timeout.
func TestRunArgvTimeoutKillsGroup(t *testing.T) {
	res, err := RunArgv(context.Background(), []string{"sh", "-c", "sleep 60 & echo child $!; wait"}, "", nil, 500*time.Millisecond)
	if !errors.Is(err, ErrTimeout) || !res.TimedOut {
		t.Fatalf("err = %v, res = %+v", err, res)
	}
	if !strings.Contains(err.Error(), "killed after timeout") {
		t.Fatalf("err = %v", err)
	}
	f := strings.Fields(res.Output)
	if len(f) < 2 {
		t.Fatalf("no child pid in %q", res.Output)
	}
	pid, _ := strconv.Atoi(f[1])
	// The child is gone (or a zombie about to be reaped by init).
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil && !isZombie(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("child %d still alive", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCheckHealthAndWait(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 3 {
			w.WriteHeader(503)
			return
		}
		w.Write([]byte(`{"status":"ok"}`))
	}))
	defer srv.Close()
	r := CheckHealth(context.Background(), srv.URL, time.Second)
	if r.OK() || r.Status != 503 {
		t.Fatalf("first probe = %+v", r)
	}
	took, err := WaitHealthy(context.Background(), srv.URL, 5*time.Second, 10*time.Millisecond)
	if err != nil || n.Load() != 3 || took <= 0 {
		t.Fatalf("wait: %v %v n=%d", took, err, n.Load())
	}
	srv.Close()
	r = CheckHealth(context.Background(), srv.URL, time.Second)
	if r.OK() || r.Status != 0 {
		t.Fatalf("closed server probe = %+v", r)
	}
	_, err = WaitHealthy(context.Background(), srv.URL, 100*time.Millisecond, 20*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "not healthy after") {
		t.Fatalf("err = %v", err)
	}
}

func TestCheckHealthTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	r := CheckHealth(context.Background(), srv.URL, 100*time.Millisecond)
	if r.OK() || !strings.Contains(r.Err.Error(), "no answer within 100ms") {
		t.Fatalf("r = %+v", r)
	}
}

// A last probe cut short by the deadline does not hide the answer before
// it: the report says 503, not "no answer within 1ms".
func TestWaitHealthyKeepsTheLastRealAnswer(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(503)
			return
		}
		<-r.Context().Done() // later probes get no answer before the deadline
	}))
	defer srv.Close()
	_, err := WaitHealthy(context.Background(), srv.URL, 300*time.Millisecond, 10*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "not healthy after 300ms: health: status 503") || n.Load() < 2 {
		t.Fatalf("err = %v after %d probes", err, n.Load())
	}
	// Never any answer: that is what it says.
	n.Store(1)
	_, err = WaitHealthy(context.Background(), srv.URL, 100*time.Millisecond, 10*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "no answer within") {
		t.Fatalf("err = %v", err)
	}
}
