// Package backup makes, verifies, lists, prunes and restores backup sets of
// a target: a consistent online copy of its SQLite database (or a pg_dump),
// a tar.gz of its configuration and one of its uploads, and a manifest with
// sizes, sha256 sums and table row counts. No chat code lives here.
package backup

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"opsbot/human"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"opsbot/config"
	"opsbot/ops"
	"opsbot/store"
	"opsbot/textclip"
)

// Progress receives progress of long work (a verb passes commands.Call.Progress).
type Progress func(format string, args ...any)

// Problem is an expected failure whose message is meant for the user as
// it is: bad input, a refusal, a full disk, a folder that is not writable.
type Problem struct{ Msg string }

func (p *Problem) Error() string { return p.Msg }

func problemf(format string, args ...any) error { return &Problem{Msg: fmt.Sprintf(format, args...)} }

// Service works on the configured targets' backups.
type Service struct {
	Store  *store.Store
	Config func() *config.Config
	Log    *slog.Logger
	// Now is the clock for stamps, ages and locks.
	Now func() time.Time
	// HealthInterval is the pause between health probes after a restore.
	HealthInterval time.Duration
	// LockTTL bounds how long a crashed backup keeps its lock.
	LockTTL time.Duration
}

// New makes a Service.
func New(st *store.Store, cfg func() *config.Config, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{Store: st, Config: cfg, Log: log, Now: time.Now, HealthInterval: 500 * time.Millisecond, LockTTL: 30 * time.Minute}
}

// Manifest describes one backup set; it is written as manifest.json in the
// set's folder and kept in the store.
type Manifest struct {
	Version   int       `json:"version"`
	Target    string    `json:"target"`
	Stamp     string    `json:"stamp"`
	CreatedAt time.Time `json:"created_at"`
	Database  struct {
		Driver string           `json:"driver"`
		File   string           `json:"file"`
		Tables map[string]int64 `json:"tables,omitempty"`
		// Estimated lists the tables whose count is the copy's own
		// statistics (sqlite_stat1, as of its last ANALYZE), not a count.
		Estimated []string `json:"estimated,omitempty"`
	} `json:"database"`
	Files    []FileEntry `json:"files"`
	Missing  []string    `json:"missing,omitempty"`
	Warnings []string    `json:"warnings,omitempty"`
	Offsite  *Offsite    `json:"offsite,omitempty"`
}

// FileEntry is one file of a set.
type FileEntry struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"` // database | config | uploads
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
	Entries int    `json:"entries,omitempty"` // tar entries of an archive
	Stored  int    `json:"stored,omitempty"`  // files stored uncompressed
}

// Offsite is the result of the off-host copy.
type Offsite struct {
	OK     bool      `json:"ok"`
	At     time.Time `json:"at"`
	TookMS int64     `json:"took_ms"`
	Exit   int       `json:"exit"`
	Error  string    `json:"error,omitempty"`
	Output string    `json:"output,omitempty"`
}

// Summary is the one-line form kept in the store and shown by list.
func (o *Offsite) Summary() string {
	took := (time.Duration(o.TookMS) * time.Millisecond).Round(100 * time.Millisecond)
	if o.OK {
		return "ok in " + took.String()
	}
	return "failed after " + took.String() + ": " + o.Error
}

const manifestName = "manifest.json"

// ParseManifest reads a manifest from its JSON.
func ParseManifest(s string) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return m, fmt.Errorf("read manifest: %w", err)
	}
	return m, nil
}

// layout is where a target's things are.
type layout struct {
	workdir string
	db      string // sqlite file; "" for postgres
	dir     string // backup folder
	uploads string // absolute
	config  []string
}

// Target returns the named target, or the only one when name is "".
func Target(cfg *config.Config, name string) (config.Target, error) {
	if name == "" {
		switch len(cfg.Targets) {
		case 0:
			return config.Target{}, problemf("no target is configured")
		case 1:
			return withDefaults(cfg.Targets[0]), nil
		default:
			return config.Target{}, problemf("several targets are configured (%s): name one", strings.Join(cfg.TargetNames(), ", "))
		}
	}
	t, ok := cfg.Target(name)
	if !ok {
		return config.Target{}, problemf("%s", human.Unknown("target", "targets", name, cfg.TargetNames()))
	}
	return withDefaults(t), nil
}

// withDefaults fills what a target built without config.Load lacks, so
// that a zero retention never means "delete everything".
func withDefaults(t config.Target) config.Target {
	if t.Backup.Retention <= 0 {
		t.Backup.Retention = 30 * 24 * time.Hour
	}
	if t.Backup.Prefix == "" {
		t.Backup.Prefix = "ai_tutor"
	}
	if t.Backup.Timeout <= 0 {
		t.Backup.Timeout = time.Hour
	}
	if t.Backup.ConfigPaths == nil {
		t.Backup.ConfigPaths = []string{".env", "nginx", "monitoring"}
	}
	if t.CommandTimeout <= 0 {
		t.CommandTimeout = 2 * time.Minute
	}
	if t.HealthDeadline <= 0 {
		t.HealthDeadline = 60 * time.Second
	}
	return t
}

func resolve(t config.Target) (layout, error) {
	if t.Workdir == "" {
		return layout{}, problemf("target %s has no workdir configured", t.Name)
	}
	wd, err := filepath.Abs(t.Workdir)
	if err != nil {
		return layout{}, fmt.Errorf("resolve workdir: %w", err)
	}
	l := layout{workdir: wd}
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return filepath.Clean(p)
		}
		return filepath.Join(wd, p)
	}
	switch t.Database.Driver {
	case "sqlite", "":
		if t.Database.Path == "" {
			return layout{}, problemf("target %s has no database.path configured", t.Name)
		}
		l.db = abs(t.Database.Path)
	case "postgres":
		if len(t.Database.Dump) == 0 {
			return layout{}, problemf("target %s uses PostgreSQL but has no database.dump argv configured", t.Name)
		}
	default:
		return layout{}, problemf("target %s: unknown database driver %q", t.Name, t.Database.Driver)
	}
	l.dir = t.Backup.Dir
	if l.dir == "" {
		l.dir = "backups"
	}
	l.dir = abs(l.dir)
	// Paths outside the workdir (an nginx folder in /etc) are allowed: the
	// configuration is the operator's, never chat's.
	l.config = t.Backup.ConfigPaths
	l.uploads = abs(orDefault(t.UploadsDir, "uploads"))
	return l, nil
}

// inside reports whether path is root or below it.
func inside(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func relTo(root, p string) string {
	if inside(root, p) {
		r, _ := filepath.Rel(root, p)
		return r
	}
	return p
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// BackupLock is the store lock one backup or restore of target holds.
func BackupLock(target string) string { return "backup:" + target }

// lock takes name for holder and keeps extending it until the returned
// release is called.
func (s *Service) lock(ctx context.Context, name, holder string, ttl time.Duration) (release func(), err error) {
	ok, err := s.Store.TryLock(ctx, name, holder, ttl, s.Now())
	if err != nil {
		return nil, err
	}
	if !ok {
		who, _ := s.Store.LockHolder(ctx, name, s.Now())
		return nil, problemf("%s is busy (held by %s); try again when it ends", name, who)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if _, err := s.Store.TryLock(context.WithoutCancel(ctx), name, holder, ttl, s.Now()); err != nil {
					s.Log.Warn("extend lock", "lock", name, "err", err)
				}
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		if err := s.Store.Unlock(context.WithoutCancel(ctx), name, holder); err != nil {
			s.Log.Warn("release lock", "lock", name, "err", err)
		}
	}, nil
}

// Result is what Create did.
type Result struct {
	ID        int64
	Target    string
	Stamp     string
	Dir       string
	Size      int64
	Manifest  Manifest
	Verified  bool
	VerifyErr string
	Offsite   *Offsite
	Pruned    []int64
	Took      time.Duration
}

// Create makes a backup set of target, verifies it, copies it off-host
// when configured and applies retention. On failure the partial set is
// removed, the failure recorded, and older sets are left untouched.
func (s *Service) Create(ctx context.Context, target string, progress Progress) (Result, error) {
	if progress == nil {
		progress = func(string, ...any) {}
	}
	start := time.Now()
	t, err := Target(s.Config(), target)
	if err != nil {
		return Result{}, err
	}
	l, err := resolve(t)
	if err != nil {
		return Result{}, err
	}
	release, err := s.lock(ctx, BackupLock(t.Name), "backup-"+randHex(4), s.LockTTL)
	if err != nil {
		return Result{}, err
	}
	defer release()

	if err := os.MkdirAll(l.dir, 0o750); err != nil {
		return Result{}, problemf("backup folder %s cannot be created: %v", l.dir, unwrapPath(err))
	}
	s.removeStalePartials(l.dir, t.Name)
	now := s.Now()
	stamp := now.Format("20060102_150405")
	for i := 2; exists(filepath.Join(l.dir, stamp)); i++ {
		stamp = fmt.Sprintf("%s_%d", now.Format("20060102_150405"), i)
	}
	partial := filepath.Join(l.dir, ".partial-"+t.Name+"-"+stamp)
	if err := os.Mkdir(partial, 0o750); err != nil {
		return Result{}, problemf("backup folder %s is not writable: %v", l.dir, unwrapPath(err))
	}
	id, err := s.Store.AddBackup(ctx, t.Name, stamp, now)
	if err != nil {
		_ = os.RemoveAll(partial)
		return Result{}, err
	}
	res := Result{ID: id, Target: t.Name, Stamp: stamp}
	final := filepath.Join(l.dir, stamp)
	m, size, err := s.build(ctx, t, l, partial, stamp, now, progress)
	if err == nil {
		err = os.Rename(partial, final)
	}
	if err != nil {
		_ = os.RemoveAll(partial)
		msg := fmt.Sprintf("backup %d of %s failed: %v; partial files removed, older backups untouched", id, t.Name, err)
		if ferr := s.Store.FinishBackup(context.WithoutCancel(ctx), id, store.BackupFailed, "", 0, "", err.Error(), s.Now()); ferr != nil {
			s.Log.Error("record failed backup", "id", id, "err", ferr)
		}
		s.Log.Warn("backup failed", "target", t.Name, "id", id, "err", err)
		return res, problemf("%s", msg)
	}
	mj, _ := json.Marshal(m)
	if err := s.Store.FinishBackup(ctx, id, store.BackupComplete, final, size, string(mj), "", s.Now()); err != nil {
		return res, err
	}
	res.Dir, res.Size, res.Manifest = final, size, m

	progress("%s: verifying backup %d…", t.Name, id)
	verr := verifySet(ctx, final, m, progress, true)
	res.Verified = verr == nil
	if verr != nil {
		res.VerifyErr = verr.Error()
	}
	if err := s.Store.SetBackupVerified(ctx, id, res.VerifyErr, s.Now()); err != nil {
		return res, err
	}
	if res.Verified && len(t.Backup.Offsite) > 0 {
		progress("%s: copying backup %d off the host…", t.Name, id)
		res.Offsite = s.offsite(ctx, t, l, id, final, &m)
		res.Manifest = m
	}
	pruned, err := s.Prune(ctx, t.Name)
	if err != nil {
		s.Log.Warn("backup retention", "target", t.Name, "err", err)
	}
	res.Pruned = pruned
	res.Took = time.Since(start)
	return res, nil
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

// unwrapPath drops the path an *fs.PathError repeats, for shorter messages.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// removeStalePartials deletes partial sets a crashed run of this target
// left; the backup lock is held, so none of them is being written.
func (s *Service) removeStalePartials(dir, target string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".partial-"+target+"-") {
			s.Log.Info("removing partial backup left by an earlier run", "path", filepath.Join(dir, e.Name()))
			_ = os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

func (s *Service) build(ctx context.Context, t config.Target, l layout, dir, stamp string, now time.Time, progress Progress) (Manifest, int64, error) {
	m := Manifest{Version: 1, Target: t.Name, Stamp: stamp, CreatedAt: now.UTC()}
	m.Database.Driver = t.Database.Driver
	if m.Database.Driver == "" {
		m.Database.Driver = "sqlite"
	}
	switch m.Database.Driver {
	case "sqlite":
		name := t.Backup.Prefix + "_" + stamp + ".db"
		info, err := os.Stat(l.db)
		if err != nil {
			return m, 0, fmt.Errorf("database: %w", err)
		}
		if free, ok := freeBytes(dir); ok && free < info.Size() {
			return m, 0, fmt.Errorf("disk full: %s free in %s, the database alone is %s", ops.Bytes(free), filepath.Dir(dir), ops.Bytes(info.Size()))
		}
		progress("%s: copying database (%s)…", t.Name, ops.Bytes(info.Size()))
		out := filepath.Join(dir, name)
		if err := CopySQLite(ctx, l.db, out); err != nil {
			return m, 0, err
		}
		// One read of the copy, right after it was synced: its checksum.
		// The verification that follows trusts it rather than reading
		// the file a second time.
		fe, err := hashFile(out)
		if err != nil {
			return m, 0, err
		}
		counts, estimated, err := TableCounts(ctx, out)
		if err != nil {
			return m, 0, err
		}
		m.Database.File, m.Database.Tables, m.Database.Estimated = name, counts, estimated
		fe.Name, fe.Kind = name, "database"
		m.Files = append(m.Files, fe)
	case "postgres":
		name := t.Backup.Prefix + "_" + stamp + ".dump"
		out := filepath.Join(dir, name)
		progress("%s: dumping the database…", t.Name)
		argv := append(slices.Clone(t.Database.Dump), out)
		res, err := ops.RunArgv(ctx, argv, l.workdir, ops.ActionEnv(t), t.Backup.Timeout)
		if err != nil {
			return m, 0, fmt.Errorf("dump database: %w: %s", err, lastLine(res.Output))
		}
		fe, err := hashFile(out)
		if err != nil {
			return m, 0, fmt.Errorf("dump database: %w", err)
		}
		if fe.Size == 0 {
			return m, 0, errors.New("dump database: the dump is empty")
		}
		fe.Name, fe.Kind = name, "database"
		m.Database.File = name
		m.Files = append(m.Files, fe)
	}

	progress("%s: archiving configuration…", t.Name)
	fe, missing, warns, err := writeArchive(ctx, filepath.Join(dir, "config_"+stamp+".tar.gz"), l.workdir, l.config, nil)
	if err != nil {
		return m, 0, err
	}
	fe.Kind = "config"
	m.Files = append(m.Files, fe)
	m.Missing = append(m.Missing, missing...)
	m.Warnings = append(m.Warnings, warns...)

	if info, err := os.Stat(l.uploads); err == nil && info.IsDir() {
		total := treeSize(l.uploads)
		progress("%s: archiving uploads (%s)…", t.Name, ops.Bytes(total))
		next := int64(10)
		report := func(done int64) {
			if total > 0 && done*100/total >= next {
				progress("%s: uploads %d%% (%s of %s)", t.Name, done*100/total, ops.Bytes(done), ops.Bytes(total))
				next = done*100/total/10*10 + 10
			}
		}
		// Entries are named from the uploads folder down (uploads/…),
		// wherever it lies: not after the folders above it.
		up := l.uploads
		if !filepath.IsAbs(up) {
			up = filepath.Join(l.workdir, up)
		}
		up = filepath.Clean(up)
		fe, _, warns, err := writeArchive(ctx, filepath.Join(dir, "uploads_"+stamp+".tar.gz"), filepath.Dir(up), []string{filepath.Base(up)}, report)
		if err != nil {
			return m, 0, err
		}
		fe.Kind = "uploads"
		m.Files = append(m.Files, fe)
		m.Warnings = append(m.Warnings, warns...)
	} else {
		m.Missing = append(m.Missing, relTo(l.workdir, l.uploads))
	}
	if err := writeManifest(dir, m); err != nil {
		return m, 0, err
	}
	var size int64
	for _, f := range m.Files {
		size += f.Size
	}
	return m, size, nil
}

func writeManifest(dir string, m Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	tmp := filepath.Join(dir, manifestName+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o640); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write manifest: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, manifestName)); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// writeArchive writes a tar.gz of paths under root to out, hashing it as
// it goes. Its files may hold secrets (.env), so only the owner reads them.
func writeArchive(ctx context.Context, out, root string, paths []string, progress func(int64)) (fe FileEntry, missing, warnings []string, err error) {
	f, err := os.OpenFile(out, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fe, nil, nil, fmt.Errorf("archive: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("archive: %w", cerr)
		}
	}()
	h := sha256.New()
	cw := &countWriter{}
	bw := bufio.NewWriterSize(io.MultiWriter(f, h, cw), 1<<20)
	st, missing, err := WriteTarGz(ctx, bw, root, paths, progress)
	if err != nil {
		return fe, missing, st.Warnings, err
	}
	if err := bw.Flush(); err != nil {
		return fe, missing, st.Warnings, fmt.Errorf("archive: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fe, missing, st.Warnings, fmt.Errorf("archive: %w", err)
	}
	fe = FileEntry{Name: filepath.Base(out), Size: cw.n, SHA256: hex.EncodeToString(h.Sum(nil)), Entries: st.Entries, Stored: st.Stored}
	return fe, missing, st.Warnings, nil
}

func hashFile(path string) (FileEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileEntry{}, fmt.Errorf("checksum: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, f, make([]byte, 1<<20))
	if err != nil {
		return FileEntry{}, fmt.Errorf("checksum %s: %w", filepath.Base(path), err)
	}
	return FileEntry{Name: filepath.Base(path), Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

func treeSize(root string) int64 {
	var n int64
	_ = filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return textclip.TailBytes(s, 300, "")
}

func (s *Service) offsite(ctx context.Context, t config.Target, l layout, id int64, dir string, m *Manifest) *Offsite {
	argv := append(slices.Clone(t.Backup.Offsite), dir)
	res, err := ops.RunArgv(ctx, argv, l.workdir, ops.ActionEnv(t), t.Backup.Timeout)
	o := &Offsite{OK: err == nil, At: s.Now().UTC(), TookMS: res.Duration.Milliseconds(), Exit: res.ExitCode, Output: tailString(res.Output, 500)}
	if err != nil {
		o.Error = err.Error()
		if ll := lastLine(res.Output); ll != "" {
			o.Error += ": " + ll
		}
	}
	m.Offsite = o
	if err := writeManifest(dir, *m); err != nil {
		s.Log.Warn("record off-host result in manifest", "id", id, "err", err)
	}
	mj, _ := json.Marshal(m)
	if err := s.Store.SetBackupOffsite(ctx, id, o.OK, o.Summary(), string(mj)); err != nil {
		s.Log.Warn("record off-host result", "id", id, "err", err)
	}
	return o
}

func tailString(s string, n int) string { return textclip.TailBytes(s, n, "") }
