package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"

	"opsbot/store"
)

// VerifySet checks a set against its manifest: every file present with its
// size and sha256, every archive readable to the end with its entry count,
// and the database copy passing PRAGMA integrity_check with the row counts
// the manifest recorded. It returns every problem found, joined.
func VerifySet(ctx context.Context, dir string, m Manifest, progress Progress) error {
	return verifySet(ctx, dir, m, progress, false)
}

// verifySet is VerifySet; fresh is the check Create runs on the set it has
// just written: the database copy's (or dump's) size is checked but it is
// not read again for its checksum nor its rows counted again (both were
// taken from the file on disk moments before); a SQLite copy passes PRAGMA
// quick_check, which stands for integrity_check here. The archives are read to the end as always.
func verifySet(ctx context.Context, dir string, m Manifest, progress Progress, fresh bool) error {
	if progress == nil {
		progress = func(string, ...any) {}
	}
	if len(m.Files) == 0 {
		return errors.New("the manifest lists no files")
	}
	var errs []error
	for _, fe := range m.Files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := verifyFile(ctx, dir, fe, m, fresh); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", fe.Name, err))
		}
	}
	return errors.Join(errs...)
}

func verifyFile(ctx context.Context, dir string, fe FileEntry, m Manifest, fresh bool) error {
	if filepath.Base(fe.Name) != fe.Name {
		return errors.New("bad file name in manifest")
	}
	path := filepath.Join(dir, fe.Name)
	f, err := os.Open(path)
	if err != nil {
		return unwrapPath(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if info.Size() != fe.Size {
		return fmt.Errorf("size %d, manifest says %d", info.Size(), fe.Size)
	}
	sqlite := fe.Kind == "database" && m.Database.Driver == "sqlite"
	if fresh && fe.Kind == "database" {
		if sqlite {
			return QuickCheck(ctx, path)
		}
		return nil // a dump: checked for size; nothing reads its format short of pg_restore
	}
	h := sha256.New()
	buf := make([]byte, 1<<20)
	if fe.Kind == "config" || fe.Kind == "uploads" {
		n, err := ReadTarGz(ctx, io.TeeReader(f, h))
		if err != nil {
			return err
		}
		if n != fe.Entries {
			return fmt.Errorf("%d entries, manifest says %d", n, fe.Entries)
		}
	}
	if _, err := io.CopyBuffer(h, f, buf); err != nil {
		return err
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != fe.SHA256 {
		return fmt.Errorf("sha256 %s…, manifest says %s…", sum[:12], short(fe.SHA256))
	}
	if sqlite {
		if err := IntegrityCheck(ctx, path); err != nil {
			return err
		}
		counts, _, err := TableCounts(ctx, path)
		if err != nil {
			return err
		}
		if !maps.Equal(counts, m.Database.Tables) && !(len(counts) == 0 && len(m.Database.Tables) == 0) {
			return fmt.Errorf("row counts %v, manifest says %v", counts, m.Database.Tables)
		}
	}
	return nil
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// VerifyResult is what Verify found.
type VerifyResult struct {
	ID  int64
	OK  bool
	Err string
}

// Verify checks a set again and records the result. id 0 means the newest
// complete set of target. A failed check is a result, not an error.
func (s *Service) Verify(ctx context.Context, target string, id int64, progress Progress) (VerifyResult, error) {
	row, err := s.set(ctx, target, id)
	if err != nil {
		return VerifyResult{}, err
	}
	m, err := ParseManifest(row.Manifest)
	if err != nil {
		return VerifyResult{}, err
	}
	if progress != nil {
		progress("%s: verifying backup %d…", row.Target, row.ID)
	}
	verr := VerifySet(ctx, row.Dir, m, progress)
	if ctx.Err() != nil {
		return VerifyResult{}, fmt.Errorf("verify backup %d: %w", row.ID, ctx.Err())
	}
	r := VerifyResult{ID: row.ID, OK: verr == nil}
	if verr != nil {
		r.Err = verr.Error()
	}
	if err := s.Store.SetBackupVerified(ctx, row.ID, r.Err, s.Now()); err != nil {
		return r, err
	}
	return r, nil
}

// set returns a complete, not deleted set of target (the newest when id is 0).
func (s *Service) set(ctx context.Context, target string, id int64) (store.BackupRow, error) {
	t, err := Target(s.Config(), target)
	if err != nil {
		return store.BackupRow{}, err
	}
	if id < 0 {
		return store.BackupRow{}, problemf("a backup id is a positive whole number, got %d", id)
	}
	if id == 0 {
		rows, err := s.Store.Backups(ctx, t.Name)
		if err != nil {
			return store.BackupRow{}, err
		}
		for _, r := range rows {
			if r.Status == store.BackupComplete {
				return r, nil
			}
		}
		return store.BackupRow{}, problemf("%s has no complete backup yet", t.Name)
	}
	row, err := s.Store.Backup(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return row, problemf("there is no backup %d", id)
	}
	if err != nil {
		return row, err
	}
	switch {
	case row.Target != t.Name:
		return row, problemf("backup %d belongs to %s, not %s", id, row.Target, t.Name)
	case !row.DeletedAt.IsZero():
		return row, problemf("backup %d was deleted on %s", id, row.DeletedAt.UTC().Format("2006-01-02"))
	case row.Status != store.BackupComplete:
		return row, problemf("backup %d is %s, not complete", id, row.Status)
	}
	return row, nil
}

// List returns target's sets that were not deleted, newest first.
func (s *Service) List(ctx context.Context, target string) (string, []store.BackupRow, error) {
	t, err := Target(s.Config(), target)
	if err != nil {
		return "", nil, err
	}
	rows, err := s.Store.Backups(ctx, t.Name)
	return t.Name, rows, err
}

// Prune deletes target's sets older than its retention, never the newest
// verified set whatever its age, and returns the ids deleted.
func (s *Service) Prune(ctx context.Context, target string) ([]int64, error) {
	t, err := Target(s.Config(), target)
	if err != nil {
		return nil, err
	}
	l, err := resolve(t)
	if err != nil {
		return nil, err
	}
	rows, err := s.Store.Backups(ctx, t.Name)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	cutoff := now.Add(-t.Backup.Retention)
	keep := int64(0)
	for _, r := range rows { // newest first
		if r.Status == store.BackupComplete && r.Verified() {
			keep = r.ID
			break
		}
	}
	var deleted []int64
	var errs []error
	for _, r := range rows {
		if r.ID == keep || !r.CreatedAt.Before(cutoff) || r.Status == store.BackupRunning && r.CreatedAt.After(now.Add(-s.LockTTL)) {
			continue
		}
		if r.Dir != "" {
			if !inside(l.dir, r.Dir) || r.Dir == l.dir {
				errs = append(errs, fmt.Errorf("backup %d: folder %s is outside %s; not removed", r.ID, r.Dir, l.dir))
				continue
			}
			if err := os.RemoveAll(r.Dir); err != nil {
				errs = append(errs, fmt.Errorf("backup %d: %w", r.ID, err))
				continue
			}
		}
		if err := s.Store.MarkBackupDeleted(ctx, r.ID, now); err != nil {
			errs = append(errs, err)
			continue
		}
		deleted = append(deleted, r.ID)
	}
	return deleted, errors.Join(errs...)
}
