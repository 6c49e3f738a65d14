package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"opsbot/config"
	"opsbot/ops"
)

// RestoreResult is what a restore did.
type RestoreResult struct {
	ID     int64
	Target string
	// SetAside are the files the previous database was moved to.
	SetAside []string
	Took     time.Duration
	Healthy  time.Duration // how long the service took to become healthy
}

// Restore puts a verified set's database back in place of target's: it
// checks the set again, copies the database next to the live one, stops the
// service, sets the live database and its -wal and -shm aside, moves the
// copy in, starts the service and waits for health. When start or health
// fails, the set-aside files are put back and the service started again;
// the error says so. It holds the action lock of the target (so a restart
// cannot run at the same time) and the backup lock, and marks the target
// under maintenance while it runs.
func (s *Service) Restore(ctx context.Context, target string, id int64, progress Progress) (RestoreResult, error) {
	if progress == nil {
		progress = func(string, ...any) {}
	}
	start := time.Now()
	if id <= 0 {
		return RestoreResult{}, problemf("restore needs a backup id (see backup list)")
	}
	t, err := Target(s.Config(), target)
	if err != nil {
		return RestoreResult{}, err
	}
	l, err := resolve(t)
	if err != nil {
		return RestoreResult{}, err
	}
	if t.Database.Driver == "postgres" {
		return RestoreResult{}, problemf("restore of a PostgreSQL target is not done by the bot; restore the dump with pg_restore")
	}
	if len(t.Stop) == 0 || len(t.Start) == 0 {
		return RestoreResult{}, problemf("target %s needs stop and start argv configured for a restore", t.Name)
	}
	row, err := s.set(ctx, t.Name, id)
	if err != nil {
		return RestoreResult{}, err
	}
	if !row.Verified() {
		why := "it was never verified"
		if row.VerifyError != "" {
			why = "it failed verification: " + row.VerifyError
		}
		return RestoreResult{}, problemf("backup %d cannot be restored: %s", id, why)
	}
	m, err := ParseManifest(row.Manifest)
	if err != nil {
		return RestoreResult{}, err
	}
	var dbEntry *FileEntry
	for i := range m.Files {
		if m.Files[i].Kind == "database" {
			dbEntry = &m.Files[i]
		}
	}
	if dbEntry == nil || m.Database.Driver != "sqlite" {
		return RestoreResult{}, problemf("backup %d holds no SQLite database", id)
	}

	holder := fmt.Sprintf("restore-%d-%s", id, randHex(4))
	ttl := 2*t.CommandTimeout + 2*t.HealthDeadline + 10*time.Minute
	releaseAction, err := s.lock(ctx, ops.ActionLock(t.Name), holder, ttl)
	if err != nil {
		return RestoreResult{}, problemf("restore of %s refused: another action is running (%v)", t.Name, err)
	}
	defer releaseAction()
	releaseBackup, err := s.lock(ctx, BackupLock(t.Name), holder, ttl)
	if err != nil {
		return RestoreResult{}, problemf("restore of %s refused: a backup is running (%v)", t.Name, err)
	}
	defer releaseBackup()

	// Check again now: the files may have changed since the last verification.
	progress("%s: checking backup %d before restoring…", t.Name, id)
	src := filepath.Join(row.Dir, dbEntry.Name)
	if err := verifyFile(ctx, row.Dir, *dbEntry, m, false); err != nil {
		msg := fmt.Sprintf("%s: %v", dbEntry.Name, err)
		_ = s.Store.SetBackupVerified(context.WithoutCancel(ctx), id, msg, s.Now())
		return RestoreResult{}, problemf("backup %d cannot be restored: it fails verification now: %s; nothing changed", id, msg)
	}
	// Copy next to the live file first, so the service is down only for renames.
	incoming := l.db + ".restoring"
	if err := copyChecked(src, incoming, dbEntry.SHA256); err != nil {
		_ = os.Remove(incoming)
		return RestoreResult{}, problemf("restore of backup %d: copy next to the database failed: %v; nothing changed", id, err)
	}
	defer os.Remove(incoming) // gone after the rename; left only on failure
	// The service must be able to write the file it gets back.
	if live, err := os.Stat(l.db); err == nil {
		_ = os.Chmod(incoming, live.Mode().Perm())
		if st, ok := live.Sys().(*syscall.Stat_t); ok {
			_ = os.Chown(incoming, int(st.Uid), int(st.Gid))
		}
	}

	until := s.Now().Add(ttl).UnixMilli() + ops.MaintenanceGrace
	if err := s.Store.PutState(ctx, ops.MaintenanceKey(t.Name), ops.Maintenance{Until: until}, s.Now()); err != nil {
		return RestoreResult{}, err
	}
	defer func() {
		// Health alerts resume after a short grace once the service is back.
		grace := ops.Maintenance{Until: s.Now().UnixMilli() + ops.MaintenanceGrace}
		if err := s.Store.PutState(context.WithoutCancel(ctx), ops.MaintenanceKey(t.Name), grace, s.Now()); err != nil {
			s.Log.Warn("end maintenance", "target", t.Name, "err", err)
		}
	}()

	progress("%s: stopping the service…", t.Name)
	if res, err := ops.RunArgv(ctx, t.Stop, l.workdir, ops.ActionEnv(t), t.CommandTimeout); err != nil {
		_, serr := ops.RunArgv(context.WithoutCancel(ctx), t.Start, l.workdir, ops.ActionEnv(t), t.CommandTimeout)
		return RestoreResult{}, problemf("restore of backup %d aborted: stop failed: %v%s; database untouched, start %s", id, err, outputHint(res.Output), outcome(serr))
	}

	stamp := s.Now().Format("20060102_150405")
	aside := l.db + ".before-restore-" + stamp
	var moved [][2]string // live → aside
	for _, sfx := range []string{"", "-wal", "-shm"} {
		from, to := l.db+sfx, aside+sfx
		if _, err := os.Lstat(from); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := os.Rename(from, to); err != nil {
			putBack(moved)
			_, serr := ops.RunArgv(context.WithoutCancel(ctx), t.Start, l.workdir, ops.ActionEnv(t), t.CommandTimeout)
			return RestoreResult{}, problemf("restore of backup %d aborted: cannot set %s aside: %v; database put back, start %s", id, filepath.Base(from), unwrapPath(err), outcome(serr))
		}
		moved = append(moved, [2]string{from, to})
	}
	if err := os.Rename(incoming, l.db); err != nil {
		putBack(moved)
		_, serr := ops.RunArgv(context.WithoutCancel(ctx), t.Start, l.workdir, ops.ActionEnv(t), t.CommandTimeout)
		return RestoreResult{}, problemf("restore of backup %d aborted: cannot move the copy in: %v; database put back, start %s", id, unwrapPath(err), outcome(serr))
	}

	progress("%s: starting the service…", t.Name)
	var failure string
	res, err := ops.RunArgv(ctx, t.Start, l.workdir, ops.ActionEnv(t), t.CommandTimeout)
	var took time.Duration
	if err != nil {
		failure = fmt.Sprintf("start failed: %v%s", err, outputHint(res.Output))
	} else {
		progress("%s: waiting for health…", t.Name)
		took, err = ops.WaitHealthy(ctx, t.HealthURL, t.HealthDeadline, s.HealthInterval)
		if err != nil {
			failure = fmt.Sprintf("not healthy after the restore: %v", err)
		}
	}
	if failure != "" {
		return RestoreResult{}, problemf("restore of backup %d failed: %s; %s", id, failure, s.rollBack(context.WithoutCancel(ctx), t, l, moved))
	}
	out := RestoreResult{ID: id, Target: t.Name, Took: time.Since(start), Healthy: took}
	for _, mv := range moved {
		out.SetAside = append(out.SetAside, mv[1])
	}
	s.Log.Info("backup restored", "target", t.Name, "id", id)
	return out, nil
}

// rollBack stops the service, removes the restored database and puts the
// set-aside files back, then starts the service and checks its health. It
// returns a sentence saying how that went.
func (s *Service) rollBack(ctx context.Context, t config.Target, l layout, moved [][2]string) string {
	_, _ = ops.RunArgv(ctx, t.Stop, l.workdir, ops.ActionEnv(t), t.CommandTimeout)
	for _, sfx := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(l.db + sfx)
	}
	if err := putBack(moved); err != nil {
		return fmt.Sprintf("putting the previous database back FAILED: %v; the set-aside files are %s", err, asideNames(moved))
	}
	if _, err := ops.RunArgv(ctx, t.Start, l.workdir, ops.ActionEnv(t), t.CommandTimeout); err != nil {
		return fmt.Sprintf("the previous database was put back, but starting the service failed: %v", err)
	}
	if _, err := ops.WaitHealthy(ctx, t.HealthURL, t.HealthDeadline, s.HealthInterval); err != nil {
		return fmt.Sprintf("the previous database was put back, but the service is still not healthy: %v", err)
	}
	return "the previous database was put back and the service is healthy again"
}

func putBack(moved [][2]string) error {
	var errs []error
	for i := len(moved) - 1; i >= 0; i-- {
		if err := os.Rename(moved[i][1], moved[i][0]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func asideNames(moved [][2]string) string {
	var n []string
	for _, m := range moved {
		n = append(n, m[1])
	}
	return strings.Join(n, ", ")
}

func outcome(err error) string {
	if err != nil {
		return "also failed: " + err.Error()
	}
	return "ran again"
}

func outputHint(out string) string {
	if l := lastLine(out); l != "" {
		return " (" + l + ")"
	}
	return ""
}

// copyChecked copies a closed, verified file and checks the copy's sha256.
func copyChecked(src, dst, sum string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return unwrapPath(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return unwrapPath(err)
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	h := sha256.New()
	if _, err := io.CopyBuffer(io.MultiWriter(out, h), in, make([]byte, 1<<20)); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return fmt.Errorf("the copy's sha256 %s… differs from the manifest's", short(got))
	}
	return out.Sync()
}
