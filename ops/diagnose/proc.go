package diagnose

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	gnet "github.com/shirou/gopsutil/v4/net"
	"github.com/shirou/gopsutil/v4/process"

	"opsbot/config"
)

// portOf is the service's port: configured, else the health URL's.
func portOf(t config.Target) int {
	if t.Service.Port > 0 {
		return t.Service.Port
	}
	u, err := url.Parse(t.HealthURL)
	if err != nil || u.Host == "" {
		return 0
	}
	p := u.Port()
	if p == "" {
		switch u.Scheme {
		case "https":
			return 443
		case "http":
			return 80
		}
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

// readPIDFile reads a pid file: the number on its first line.
func readPIDFile(path string) (int32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("pid file: %w", err)
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	n, err := strconv.ParseInt(strings.TrimSpace(line), 10, 32)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("pid file %s: not a pid: %q", path, clip(line, 20))
	}
	return int32(n), nil
}

// alive reports whether pid is a running (not zombie) process.
func alive(ctx context.Context, pid int32) bool {
	ok, err := process.PidExistsWithContext(ctx, pid)
	if err != nil || !ok {
		return false
	}
	p, err := process.NewProcessWithContext(ctx, pid)
	if err != nil {
		return false
	}
	st, err := p.StatusWithContext(ctx)
	if err == nil && len(st) > 0 && st[0] == process.Zombie {
		return false
	}
	return true
}

// procName is a process' name, "?" when unreadable.
func procName(ctx context.Context, pid int32) string {
	p, err := process.NewProcessWithContext(ctx, pid)
	if err != nil {
		return "?"
	}
	n, err := p.NameWithContext(ctx)
	if err != nil || n == "" {
		return "?"
	}
	return n
}

// byName finds running processes whose name or argv[0] base is name.
func byName(ctx context.Context, name string) ([]int32, error) {
	ps, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("processes: %w", err)
	}
	var out []int32
	for _, p := range ps {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		n, _ := p.NameWithContext(ctx)
		if n == name {
			out = append(out, p.Pid)
			continue
		}
		if args, err := p.CmdlineSliceWithContext(ctx); err == nil {
			for _, a := range args {
				if base(a) == name {
					out = append(out, p.Pid)
					break
				}
			}
		}
	}
	return out, nil
}

func base(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// listeners returns the pids listening on TCP port (0 for a listener whose
// owner cannot be read) and whether anything listens at all.
func listeners(ctx context.Context, port int) ([]int32, error) {
	conns, err := gnet.ConnectionsWithContext(ctx, "tcp")
	if err != nil {
		return nil, fmt.Errorf("sockets: %w", err)
	}
	var out []int32
	seen := map[int32]bool{}
	for _, c := range conns {
		if c.Status != "LISTEN" || int(c.Laddr.Port) != port {
			continue
		}
		if !seen[c.Pid] {
			seen[c.Pid] = true
			out = append(out, c.Pid)
		}
	}
	return out, nil
}

// dialable reports whether something accepts connections on the port
// locally (a listener whose owner /proc does not show still counts).
func dialable(ctx context.Context, port int) bool {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// servicePIDs finds the service's process: by pid file, else by name, else
// by port owner. how says which; stale is a pid file naming a dead pid.
type located struct {
	pids  []int32
	how   string
	stale int32 // a pid file's pid that is not running
	err   error // the pid file could not be read
}

func locate(ctx context.Context, t config.Target) located {
	s := t.Service
	if s.PIDFile != "" {
		pid, err := readPIDFile(s.PIDFile)
		if err != nil {
			return located{how: "pid file " + s.PIDFile, err: err}
		}
		if !alive(ctx, pid) {
			return located{how: "pid file " + s.PIDFile, stale: pid}
		}
		return located{pids: []int32{pid}, how: "pid file " + s.PIDFile}
	}
	if s.Process != "" {
		pids, err := byName(ctx, s.Process)
		return located{pids: pids, how: "process name " + s.Process, err: err}
	}
	if port := portOf(t); port > 0 {
		pids, err := listeners(ctx, port)
		return located{pids: pids, how: fmt.Sprintf("owner of port %d", port), err: err}
	}
	return located{how: "nothing configured"}
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func pidList(pids []int32) string {
	parts := make([]string, len(pids))
	for i, p := range pids {
		parts[i] = strconv.Itoa(int(p))
	}
	return strings.Join(parts, ", ")
}

func ppid(ctx context.Context, pid int32) int32 {
	p, err := process.NewProcessWithContext(ctx, pid)
	if err != nil {
		return 0
	}
	pp, err := p.PpidWithContext(ctx)
	if err != nil {
		return 0
	}
	return pp
}
