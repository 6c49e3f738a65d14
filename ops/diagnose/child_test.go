package diagnose_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"opsbot/config"
	"opsbot/ops/diagnose"
	"opsbot/standin"
)

// Child processes stand for the processes a diagnosis must find: another
// program holding the service's port, a process holding the database
// open, a leaking service, and the bot itself run as an unprivileged uid
// (CI runs as root, which no file mode stops).
const childEnv = "OPSBOT_DIAGNOSE_TEST_CHILD"

func TestMain(m *testing.M) {
	// The stand-in's actions and fault processes run this binary as its ctl client.
	if len(os.Args) > 1 && os.Args[1] == "standin-ctl" {
		os.Exit(standin.CtlMain(os.Args[2:]))
	}
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(childMain(mode))
	}
	os.Exit(m.Run())
}

func childMain(mode string) int {
	in := bufio.NewScanner(os.Stdin)
	switch {
	case mode == "wait":
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin)
	case mode == "listen":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		defer ln.Close()
		fmt.Println(ln.Addr().(*net.TCPAddr).Port)
		io.Copy(io.Discard, os.Stdin)
	case strings.HasPrefix(mode, "hold:"):
		f, err := os.Open(strings.TrimPrefix(mode, "hold:"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		defer f.Close()
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin)
	case mode == "grow":
		// Each line read grows the heap by 8 MiB, touched so it is resident.
		var keep [][]byte
		fmt.Println("ready")
		for in.Scan() {
			b := make([]byte, 8<<20)
			for i := range b {
				b[i] = byte(i)
			}
			keep = append(keep, b)
			fmt.Println(len(keep))
		}
		_ = keep
	case strings.HasPrefix(mode, "diagnose-db:"):
		// Diagnose the database as whatever uid this child runs as.
		path := strings.TrimPrefix(mode, "diagnose-db:")
		cfg := config.Default()
		cfg.Targets = []config.Target{{Name: "api", Database: config.Database{Driver: "sqlite", Path: path}}}
		g := diagnose.New(diagnose.Deps{Config: func() *config.Config { return cfg }})
		rep, err := g.Run(context.Background(), diagnose.DB, "api", nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		json.NewEncoder(os.Stdout).Encode(rep)
	default:
		fmt.Fprintln(os.Stderr, "unknown child mode", mode)
		return 2
	}
	return 0
}

// child is a running child process with its first output line read.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
	first string
}

func startChild(t *testing.T, mode string, cred *syscall.Credential) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if cred != nil {
		exe = runnableCopy(t, exe)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	cmd.Stderr = os.Stderr
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Dir = "/"
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	c.first = c.line(t)
	return c
}

// line reads the child's next line; the child answers each request, so
// this waits for an answer, not for time to pass.
func (c *child) line(t *testing.T) string {
	t.Helper()
	if !c.out.Scan() {
		t.Fatalf("child ended without answering: %v", c.out.Err())
	}
	return c.out.Text()
}

func (c *child) pid() int32 { return int32(c.cmd.Process.Pid) }

// runnableCopy copies the test binary where another uid may run it: the go
// tool keeps it in a folder only its owner may enter.
func runnableCopy(t *testing.T, exe string) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "diagnose.test")
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// openDir is a temp folder others may enter (for the unprivileged child).
func openDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// makeDB creates a SQLite database with the served tables.
func makeDB(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{`PRAGMA journal_mode=WAL`, `CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)`, `CREATE TABLE sessions (id INTEGER PRIMARY KEY)`,
		`INSERT INTO users (name) VALUES ('alice')`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

var _ = time.Second

func jsonDecode(s string, v any) error { return json.Unmarshal([]byte(s), v) }
