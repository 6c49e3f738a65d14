// Package ops does the work on the served system, with no chat code:
// running configured argv actions, health probes, host metrics, the status
// checklist and guarded restart/update actions.
package ops

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"opsbot/textclip"
)

// TailBytes is how much of an action's combined output is kept.
const TailBytes = 4096

// ErrTimeout is wrapped by RunArgv's error when the command was killed
// because it ran past its timeout.
var ErrTimeout = errors.New("killed after timeout")

// RunResult is what one argv run did.
type RunResult struct {
	Argv     []string
	ExitCode int // -1 when it did not exit by itself (not started, killed)
	Output   string
	Duration time.Duration
	TimedOut bool
	// Truncated reports that Output is only the tail of a longer output.
	Truncated bool
}

// RunArgv runs argv (never through a shell) in dir, in a process group of
// its own so that at timeout the whole group is killed, children included.
// It keeps the last TailBytes of stdout and stderr combined. The error is
// nil only when the command exited 0; a timeout wraps ErrTimeout.
func RunArgv(ctx context.Context, argv []string, dir string, timeout time.Duration) (RunResult, error) {
	res := RunResult{Argv: argv, ExitCode: -1}
	if len(argv) == 0 || argv[0] == "" {
		return res, errors.New("run: empty argv (no command configured)")
	}
	rctx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	tail := &tailBuffer{max: TailBytes}
	cmd := exec.CommandContext(rctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = tail, tail
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The negative pid names the process group: children die too.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	// A grandchild that left the group may keep the output pipe open; do not
	// wait for it forever.
	cmd.WaitDelay = 2 * time.Second
	start := time.Now()
	err := cmd.Start()
	if err != nil {
		res.Duration = time.Since(start)
		return res, fmt.Errorf("run %s: %w", argv[0], err)
	}
	err = cmd.Wait()
	res.Duration = time.Since(start)
	res.Output, res.Truncated = tail.String()
	if cmd.ProcessState != nil && cmd.ProcessState.Exited() {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	switch {
	case errors.Is(rctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		res.TimedOut = true
		return res, fmt.Errorf("run %s: %w (%s)", argv[0], ErrTimeout, timeout)
	case ctx.Err() != nil:
		return res, fmt.Errorf("run %s: cancelled: %w", argv[0], ctx.Err())
	case err != nil:
		var ee *exec.ExitError
		if errors.As(err, &ee) && res.ExitCode >= 0 {
			return res, fmt.Errorf("run %s: exit status %d", argv[0], res.ExitCode)
		}
		return res, fmt.Errorf("run %s: %w", argv[0], err)
	}
	return res, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	buf   []byte
	total int64
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total += int64(len(p))
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return len(p), nil
	}
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String returns the tail as valid UTF-8: a cut tail may start inside a
// character, and output may hold any bytes.
func (t *tailBuffer) String() (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return textclip.TailBytes(string(t.buf), t.max, ""), t.total > int64(len(t.buf))
}
