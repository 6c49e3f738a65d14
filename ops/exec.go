// Package ops does the work on the served system, with no chat code:
// running configured argv actions, health probes, host metrics, the status
// checklist and guarded restart/update actions.
package ops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"opsbot/config"
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

// RunArgv runs argv (never through a shell) in dir with the environment env
// (ActionEnv: a child never inherits opsbot's environment, nor its secrets;
// nil gives it only the base variables), in a process group of its own so
// that at timeout the whole group is killed, children included. It keeps
// the last TailBytes of stdout and stderr combined. The error is nil only
// when the command exited 0; a timeout wraps ErrTimeout.
func RunArgv(ctx context.Context, argv []string, dir string, env []string, timeout time.Duration) (RunResult, error) {
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
	if env == nil {
		env = actionEnv(nil, os.Environ())
	}
	cmd.Env = env
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

// ActionEnv is the environment of t's actions, taken from opsbot's own:
// PATH, HOME, LANG and TZ, and the variables t.Env names. A variable that
// holds one of opsbot's secrets, by its name or by its value, is never
// passed, even when named (config check refuses naming one).
func ActionEnv(t config.Target) []string { return actionEnv(t.Env, os.Environ()) }

func actionEnv(names, environ []string) []string {
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	secrets := config.SecretValues(env)
	out := []string{} // not nil: nil would mean "inherit everything"
	seen := map[string]bool{}
	for _, name := range append(config.ActionBaseEnv(), names...) {
		v, ok := env[name]
		if !ok || seen[name] || config.IsSecretEnv(name) || config.HoldsSecret(v, secrets) {
			continue
		}
		seen[name] = true
		out = append(out, name+"="+v)
	}
	return out
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
