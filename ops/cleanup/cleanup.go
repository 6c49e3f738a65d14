// Package cleanup is the seed's log and temp cleanup of a target: gzip logs
// older than a week, delete compressed logs older than a month, delete temp
// files older than a day (all configurable). Every file operation goes
// through an os.Root of its configured root, and symlinks are never
// followed, so nothing outside the roots is touched.
package cleanup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"

	"opsbot/config"
)

// Action kinds.
const (
	Gzip   = "gzip"
	Delete = "delete"
	Skip   = "skip"
)

// Action is one thing cleanup did (or, in a dry run, would do).
type Action struct {
	Kind  string
	Path  string // relative to the target's workdir when inside it
	Size  int64  // size of the file before
	Freed int64  // bytes freed (0 in a dry run of a gzip: unknown until done)
	Note  string
}

// Report is what a run did.
type Report struct {
	Target  string
	DryRun  bool
	Roots   []string
	Actions []Action
	Freed   int64
	Errors  []string
}

// Count returns how many actions of kind the report holds.
func (r Report) Count(kind string) int {
	n := 0
	for _, a := range r.Actions {
		if a.Kind == kind {
			n++
		}
	}
	return n
}

// Options of a run.
type Options struct {
	DryRun bool
	Now    time.Time
}

type root struct {
	path    string // absolute, as configured
	logs    bool   // a log folder (else the temp folder)
	recurse bool
}

// Run cleans target's log folders (the folders of its configured logs, or
// logs/ when none are configured) and its temp folder.
func Run(ctx context.Context, t config.Target, opt Options) (Report, error) {
	rep := Report{Target: t.Name, DryRun: opt.DryRun}
	if t.Workdir == "" {
		return rep, fmt.Errorf("cleanup %s: no workdir configured", t.Name)
	}
	wd, err := filepath.Abs(t.Workdir)
	if err != nil {
		return rep, fmt.Errorf("cleanup %s: %w", t.Name, err)
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return filepath.Clean(p)
		}
		return filepath.Join(wd, p)
	}
	active := map[string]bool{}
	var logDirs []string
	for _, l := range t.Logs {
		p := abs(l.Path)
		active[p] = true
		if d := filepath.Dir(p); !slices.Contains(logDirs, d) {
			logDirs = append(logDirs, d)
		}
	}
	if len(logDirs) == 0 {
		logDirs = []string{filepath.Join(wd, "logs")}
	}
	slices.Sort(logDirs)
	// Folders whose files are data, never logs to compress or expire.
	protected := []string{wd, abs(orDefault(t.UploadsDir, "uploads")), abs(orDefault(t.Backup.Dir, "backups"))}
	if t.Database.Path != "" {
		protected = append(protected, filepath.Dir(abs(t.Database.Path)))
	}
	tempDir := abs(orDefault(t.TempDir, "temp"))
	var roots []root
	for _, d := range logDirs {
		// A log folder that is also the workdir (or holds data) is cleaned at
		// its top level only.
		recurse := true
		for _, p := range protected {
			if d == p || within(d, p) || within(d, tempDir) {
				recurse = false
			}
		}
		roots = append(roots, root{path: d, logs: true, recurse: recurse})
	}
	roots = append(roots, root{path: tempDir, recurse: true})
	for _, r := range roots {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		rep.Roots = append(rep.Roots, rel(wd, r.path))
		if err := cleanRoot(ctx, r, t.Cleanup, opt, wd, active, protected, tempDir, &rep); err != nil {
			rep.Errors = append(rep.Errors, err.Error())
		}
	}
	for _, a := range rep.Actions {
		rep.Freed += a.Freed
	}
	return rep, nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// within reports whether path lies strictly below dir.
func within(dir, path string) bool {
	r, err := filepath.Rel(dir, path)
	return err == nil && r != "." && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator))
}

func rel(wd, p string) string {
	if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

func cleanRoot(ctx context.Context, r root, c config.Cleanup, opt Options, wd string, active map[string]bool, protected []string, tempDir string, rep *Report) error {
	fsRoot, err := os.OpenRoot(r.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", rel(wd, r.path), err)
	}
	defer fsRoot.Close()
	return fs.WalkDir(fsRoot.FS(), ".", func(name string, d fs.DirEntry, werr error) error {
		if werr != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("%s: %v", rel(wd, filepath.Join(r.path, name)), unwrap(werr)))
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		full := filepath.Join(r.path, name)
		if d.IsDir() {
			if name == "." {
				return nil
			}
			if !r.recurse || (r.logs && (slices.Contains(protected, full) || full == tempDir)) {
				return fs.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // gone since listed
		}
		age := opt.Now.Sub(info.ModTime())
		var kind string
		switch {
		case !r.logs && age > c.TempAfter:
			kind = Delete
		case r.logs && strings.HasSuffix(name, ".gz") && age > c.DeleteGzAfter:
			kind = Delete
		case r.logs && isLog(d.Name()) && age > c.GzipAfter && !active[full]:
			kind = Gzip
		default:
			return nil
		}
		a := Action{Kind: kind, Path: rel(wd, full), Size: info.Size()}
		if d.Type()&fs.ModeSymlink != 0 {
			a.Kind, a.Size, a.Note = Skip, 0, "symlink, not followed"
			rep.Actions = append(rep.Actions, a)
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if opt.DryRun {
			if kind == Delete {
				a.Freed = a.Size
			}
			rep.Actions = append(rep.Actions, a)
			return nil
		}
		switch kind {
		case Delete:
			if err := fsRoot.Remove(name); err != nil {
				rep.Errors = append(rep.Errors, fmt.Sprintf("delete %s: %v", a.Path, unwrap(err)))
				return nil
			}
			a.Freed = a.Size
		case Gzip:
			gzSize, err := gzipFile(fsRoot, name, info)
			if err != nil {
				rep.Errors = append(rep.Errors, fmt.Sprintf("gzip %s: %v", a.Path, err))
				return nil
			}
			a.Freed = a.Size - gzSize
		}
		rep.Actions = append(rep.Actions, a)
		return nil
	})
}

// isLog matches the seed's *.log and rotated siblings (app.log.1,
// app.log-20261120), but not what is compressed already.
func isLog(base string) bool {
	if strings.HasSuffix(base, ".gz") || strings.HasSuffix(base, ".zst") || strings.HasSuffix(base, ".bz2") || strings.HasSuffix(base, ".xz") {
		return false
	}
	return strings.HasSuffix(base, ".log") || strings.Contains(base, ".log.") || strings.Contains(base, ".log-")
}

func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// gzipFile replaces name by name.gz as gzip(1) does: same mode and mtime,
// the original removed only once the compressed file is complete.
func gzipFile(r *os.Root, name string, info fs.FileInfo) (int64, error) {
	dst := name + ".gz"
	if _, err := r.Lstat(dst); err == nil {
		return 0, fmt.Errorf("%s exists already", filepath.Base(dst))
	}
	in, err := r.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return 0, unwrap(err)
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := r.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, info.Mode().Perm())
	if err != nil {
		return 0, unwrap(err)
	}
	fail := func(err error) (int64, error) {
		out.Close()
		_ = r.Remove(tmp)
		return 0, err
	}
	zw := gzip.NewWriter(out)
	zw.Name, zw.ModTime = filepath.Base(name), info.ModTime()
	if _, err := io.CopyBuffer(zw, in, make([]byte, 256<<10)); err != nil {
		return fail(unwrap(err))
	}
	if err := zw.Close(); err != nil {
		return fail(unwrap(err))
	}
	if err := out.Sync(); err != nil {
		return fail(unwrap(err))
	}
	st, err := out.Stat()
	if err != nil {
		return fail(err)
	}
	if err := out.Close(); err != nil {
		_ = r.Remove(tmp)
		return 0, unwrap(err)
	}
	// Keep the log's age so the .gz expires a month after the log was written.
	_ = r.Chtimes(tmp, info.ModTime(), info.ModTime())
	if err := r.Rename(tmp, dst); err != nil {
		_ = r.Remove(tmp)
		return 0, unwrap(err)
	}
	if err := r.Remove(name); err != nil {
		return 0, unwrap(err)
	}
	return st.Size(), nil
}
