package backup_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"opsbot/config"
	"opsbot/ops/backup"
	"opsbot/standin"
	"opsbot/store"
)

// A child process runs one backup under conditions the test process must
// not take on itself: a file size limit (a full disk) or another uid.
const childEnv = "OPSBOT_BACKUP_TEST_CHILD"

type childJob struct {
	Workdir   string `json:"workdir"`
	BackupDir string `json:"backup_dir"`
	StorePath string `json:"store_path"` // "" = a fresh store of the child's own
	FSize     uint64 `json:"fsize"`      // RLIMIT_FSIZE in bytes, 0 = none
}

type childOut struct {
	Err     string `json:"err"`
	Problem bool   `json:"problem"`
}

func TestMain(m *testing.M) {
	// The stand-in's stop/start argv run this binary as its ctl client.
	if len(os.Args) > 1 && os.Args[1] == "standin-ctl" {
		os.Exit(standin.CtlMain(os.Args[2:]))
	}
	if job := os.Getenv(childEnv); job != "" {
		os.Exit(childMain(job))
	}
	os.Exit(m.Run())
}

func childMain(raw string) int {
	var job childJob
	if err := json.Unmarshal([]byte(raw), &job); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if job.FSize > 0 {
		lim := syscall.Rlimit{Cur: job.FSize, Max: job.FSize}
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
			fmt.Fprintln(os.Stderr, "setrlimit:", err)
			return 2
		}
	}
	storePath := job.StorePath
	if storePath == "" {
		tmp, err := os.MkdirTemp("", "opsbot-child-store-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		defer os.RemoveAll(tmp)
		storePath = filepath.Join(tmp, "opsbot.db")
	}
	st, err := store.Open(ctx(), "sqlite", storePath)
	if err == nil {
		_, err = st.Migrate(ctx())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "store:", err)
		return 2
	}
	defer st.Close()
	cfg := config.Default()
	t := fixtureTarget(job.Workdir, "http://127.0.0.1:1/health")
	t.Backup.Dir = job.BackupDir
	cfg.Targets = []config.Target{t}
	svc := backup.New(st, func() *config.Config { return cfg }, quietLog())
	_, err = svc.Create(ctx(), "api", nil)
	var out childOut
	if err != nil {
		var pr *backup.Problem
		out = childOut{Err: err.Error(), Problem: errors.As(err, &pr)}
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
	return 0
}

func runChild(t *testing.T, job childJob, cred *syscall.Credential) childOut {
	t.Helper()
	exe, err := os.Executable()
	must(t, err)
	if cred != nil {
		// The go tool keeps the test binary in a folder only its owner may
		// enter; the other uid needs a copy it can run.
		dir := t.TempDir()
		must(t, os.Chmod(dir, 0o755))
		must(t, os.Chmod(filepath.Dir(dir), 0o755))
		must(t, copyFile(exe, filepath.Join(dir, "backup.test"), 0o755))
		exe = filepath.Join(dir, "backup.test")
	}
	raw, _ := json.Marshal(job)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(raw), "TMPDIR=/tmp")
	cmd.Dir = "/"
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v: %s", err, stderr.String())
	}
	var out childOut
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("child output %q: %v (stderr %s)", b, err, stderr.String())
	}
	return out
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// A full disk during the backup: the write fails, the partial set is
// removed, the failure is recorded and reported, older sets are untouched.
func TestFullDiskDuringBackup(t *testing.T) {
	base := t.TempDir()
	storePath := filepath.Join(base, "store", "opsbot.db")
	st, err := store.Open(ctx(), "sqlite", storePath)
	must(t, err)
	t.Cleanup(func() { st.Close() })
	_, err = st.Migrate(ctx())
	must(t, err)
	f := newFixture(t, st, filepath.Join(base, "work"))
	writeRandom(t, filepath.Join(f.dir, "uploads", "lecture.mp4"), 4<<20)
	old, err := f.svc.Create(ctx(), "api", nil)
	must(t, err)
	if !old.Verified {
		t.Fatal(old.VerifyErr)
	}
	// Grow the database so its copy alone exceeds the smaller limit.
	db := openLive(t, f.db)
	for i := 0; i < 20; i++ {
		_, err := db.Exec(`INSERT INTO messages (user_id, body) VALUES (1, ?)`, strings.Repeat("x", 100<<10))
		must(t, err)
	}
	db.Close()

	for _, c := range []struct {
		name  string
		limit uint64
		want  string
	}{
		{"archive", 3 << 20, "file too large"}, // the database copy fits, the uploads archive does not
		{"database", 1 << 20, "file size limit 1.0 MiB is below the database's"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := runChild(t, childJob{Workdir: f.dir, BackupDir: f.target().Backup.Dir, StorePath: storePath, FSize: c.limit}, nil)
			t.Logf("child: %s", out.Err)
			if !out.Problem || !strings.Contains(out.Err, c.want) || !strings.Contains(out.Err, "partial files removed") {
				t.Fatalf("child error %q, want %q", out.Err, c.want)
			}
			ents, _ := os.ReadDir(f.target().Backup.Dir)
			if len(ents) != 1 || ents[0].Name() != old.Stamp {
				t.Fatalf("backup folder holds %v, want only the old set", ents)
			}
			vr, err := f.svc.Verify(ctx(), "api", old.ID, nil)
			must(t, err)
			if !vr.OK {
				t.Fatalf("old set damaged: %s", vr.Err)
			}
			_, rows, _ := f.svc.List(ctx(), "api")
			if rows[0].Status != store.BackupFailed || rows[0].Error == "" {
				t.Fatalf("failure not recorded: %+v", rows[0])
			}
		})
	}
}

// A backup folder the bot may not write to is reported as such, and no
// set is made. CI runs as root, so the backup runs in a child process as
// an unprivileged uid; without root the folder is made read-only instead.
func TestBackupFolderNotWritable(t *testing.T) {
	base, err := os.MkdirTemp("", "opsbot-unwritable-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(base) })
	must(t, os.Chmod(base, 0o755))
	work := filepath.Join(base, "work")
	f := newFixture(t, nil, work)
	backups := filepath.Join(base, "backups")
	must(t, os.Mkdir(backups, 0o755))

	var out childOut
	if os.Geteuid() == 0 {
		out = runChild(t, childJob{Workdir: work, BackupDir: backups}, &syscall.Credential{Uid: 65534, Gid: 65534})
	} else {
		must(t, os.Chmod(backups, 0o555))
		st, err := store.Open(ctx(), "sqlite", filepath.Join(t.TempDir(), "s.db"))
		must(t, err)
		defer st.Close()
		_, err = st.Migrate(ctx())
		must(t, err)
		f.svc.Store = st
		f.target().Backup.Dir = backups
		_, err = f.svc.Create(ctx(), "api", nil)
		var pr *backup.Problem
		if err != nil {
			out = childOut{Err: err.Error(), Problem: errors.As(err, &pr)}
		}
	}
	t.Logf("child: %s", out.Err)
	if !out.Problem || !strings.Contains(out.Err, "is not writable") || !strings.Contains(out.Err, "permission denied") {
		t.Fatalf("error %q", out.Err)
	}
	if ents, _ := os.ReadDir(backups); len(ents) != 0 {
		t.Fatalf("backup folder holds %v", ents)
	}
}
