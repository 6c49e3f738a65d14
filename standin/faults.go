package standin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
)

// Fault is one of the faults the guide's runbooks diagnose, which the
// stand-in can take on so a newcomer sees `diagnose` find each cause.
type Fault string

const (
	FaultProcessGone  Fault = "process-gone"  // the service stopped; its pid file names a dead pid
	FaultPortTaken    Fault = "port-taken"    // the service stopped; another process holds its port
	FaultDBMode       Fault = "db-mode"       // the database file's mode is 000
	FaultLLMErrors    Fault = "llm-errors"    // 429s, 502s and timeouts in the LLM log
	FaultMemoryGrowth Fault = "memory-growth" // the service's memory grows 4 MiB a second (up to 256 MiB)
	FaultDiskFilling  Fault = "disk-filling"  // temp/ grows 8 MiB a second (up to 512 MiB)
)

// Faults lists them.
var Faults = []Fault{FaultProcessGone, FaultPortTaken, FaultDBMode, FaultLLMErrors, FaultMemoryGrowth, FaultDiskFilling}

// Caps of the growing faults: a demo must not take a laptop down.
const (
	memoryStep, memoryCap = 4 << 20, 256 << 20
	diskStep, diskCap     = 8 << 20, 512 << 20
)

// faultState is what the injected faults hold, to be undone.
type faultState struct {
	mu      sync.Mutex
	holder  *exec.Cmd
	holdIn  io.WriteCloser
	grow    context.CancelFunc
	fill    context.CancelFunc
	wg      sync.WaitGroup
	memory  [][]byte
	pidSelf bool
}

// PIDFile is the service's pid file. The stand-in runs inside opsbot, so
// while it runs the file names opsbot's pid.
func (b *Backend) PIDFile() string { return filepath.Join(b.dir, "run", "ai_tutor.pid") }

func (b *Backend) writePID(pid int) error {
	if err := os.MkdirAll(filepath.Dir(b.PIDFile()), 0o755); err != nil {
		return fmt.Errorf("standin: pid file: %w", err)
	}
	if err := os.WriteFile(b.PIDFile(), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		return fmt.Errorf("standin: pid file: %w", err)
	}
	return nil
}

// ServiceUser is the user the stand-in's database is judged against:
// "nobody" when opsbot runs as root (root ignores file modes, a service
// user does not), else the user opsbot runs as.
func ServiceUser() string {
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("nobody"); err == nil {
			return "nobody"
		}
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

// adoptServiceUser gives the data folder and database to the service user
// when running as root, as a real deployment's would be.
func (b *Backend) adoptServiceUser() {
	if os.Geteuid() != 0 {
		return
	}
	u, err := user.Lookup(ServiceUser())
	if err != nil {
		return
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, p := range []string{filepath.Dir(b.DBPath()), b.DBPath()} {
		_ = os.Chown(p, uid, gid)
	}
}

// Inject makes the stand-in take on a fault. Clear undoes every fault.
func (b *Backend) Inject(f Fault) error {
	switch f {
	case FaultProcessGone:
		b.Stop()
		// A pid that was a process and is gone: a child that has exited.
		cmd := exec.Command(b.opts.Self, b.opts.CtlArgs...)
		_ = cmd.Run()
		if cmd.ProcessState == nil {
			return errors.New("standin: no process to lose")
		}
		return b.writePID(cmd.ProcessState.Pid())
	case FaultPortTaken:
		b.Stop()
		return b.holdPort()
	case FaultDBMode:
		if err := os.Chmod(b.DBPath(), 0); err != nil {
			return fmt.Errorf("standin: %w", err)
		}
		return nil
	case FaultLLMErrors:
		return b.Burst(BurstLLMErrors, 200, "")
	case FaultMemoryGrowth:
		b.grow(memoryStep, memoryCap)
		return nil
	case FaultDiskFilling:
		b.fillDisk(diskStep, diskCap)
		return nil
	}
	return fmt.Errorf("standin: unknown fault %q", f)
}

// holdPort starts another process listening on the service's port.
func (b *Backend) holdPort() error {
	argv := append(append([]string{}, b.opts.CtlArgs...), "hold-port", b.svcAddr)
	cmd := exec.Command(b.opts.Self, argv...)
	in, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("standin: hold port: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("standin: hold port: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("standin: hold port: %w", err)
	}
	// It says "holding" once it listens (or ends when it cannot).
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "holding\n" {
		in.Close()
		_ = cmd.Wait()
		return fmt.Errorf("standin: hold port: the holder did not listen on %s", b.svcAddr)
	}
	b.flt.mu.Lock()
	b.flt.holder, b.flt.holdIn = cmd, in
	b.flt.mu.Unlock()
	return nil
}

func (b *Backend) grow(step, limit int) {
	b.flt.mu.Lock()
	defer b.flt.mu.Unlock()
	if b.flt.grow != nil {
		return
	}
	ctx, cancel := context.WithCancel(b.closeCtx)
	b.flt.grow = cancel
	b.flt.wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for total := 0; total < limit; total += step {
			buf := make([]byte, step)
			for i := 0; i < len(buf); i += 4096 {
				buf[i] = 1 // resident, not just reserved
			}
			b.flt.mu.Lock()
			b.flt.memory = append(b.flt.memory, buf)
			b.flt.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}

func (b *Backend) fillPath(i int) string {
	return filepath.Join(b.dir, "temp", fmt.Sprintf("fill_%04d.tmp", i))
}

func (b *Backend) fillDisk(step, limit int) {
	b.flt.mu.Lock()
	defer b.flt.mu.Unlock()
	if b.flt.fill != nil {
		return
	}
	ctx, cancel := context.WithCancel(b.closeCtx)
	b.flt.fill = cancel
	b.flt.wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		chunk := b.randBytes(step)
		for i := 0; i*step < limit; i++ {
			if err := os.WriteFile(b.fillPath(i), chunk, 0o644); err != nil {
				b.opts.Log.Warn("stand-in: disk filling stopped", "err", err)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}

// Clear undoes every injected fault: the service runs again under its own
// pid, the port is its own, the database mode is 0644, memory and temp
// files are released.
func (b *Backend) Clear() error {
	b.flt.mu.Lock()
	holder, in := b.flt.holder, b.flt.holdIn
	b.flt.holder, b.flt.holdIn = nil, nil
	for _, c := range []context.CancelFunc{b.flt.grow, b.flt.fill} {
		if c != nil {
			c()
		}
	}
	b.flt.grow, b.flt.fill = nil, nil
	b.flt.mu.Unlock()
	b.flt.wg.Wait()
	b.flt.mu.Lock()
	b.flt.memory = nil
	b.flt.mu.Unlock()
	debug.FreeOSMemory()
	if holder != nil {
		in.Close()
		_ = holder.Process.Kill()
		_ = holder.Wait()
	}
	for i := 0; i*diskStep < diskCap; i++ {
		if err := os.Remove(b.fillPath(i)); errors.Is(err, os.ErrNotExist) {
			break
		}
	}
	var errs []error
	if err := os.Chmod(b.DBPath(), 0o644); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	if err := b.writePID(os.Getpid()); err != nil {
		errs = append(errs, err)
	}
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if !closed {
		errs = append(errs, b.Start())
	}
	return errors.Join(errs...)
}

// holdPortMain is `standin-ctl hold-port <addr>`: listen on addr, say
// "holding", and keep it until stdin closes.
func holdPortMain(addr string, stdin io.Reader, stdout, stderr io.Writer) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(stderr, "standin-ctl: hold-port: %v\n", err)
		return 1
	}
	defer ln.Close()
	fmt.Fprintln(stdout, "holding")
	_, _ = io.Copy(io.Discard, stdin)
	return 0
}

func (b *Backend) port() int {
	_, p, _ := net.SplitHostPort(b.svcAddr)
	n, _ := strconv.Atoi(p)
	return n
}
