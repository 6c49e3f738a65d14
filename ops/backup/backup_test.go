package backup_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	kgzip "github.com/klauspost/compress/gzip"

	"opsbot/ops"
	"opsbot/ops/backup"
	"opsbot/store"
	"opsbot/store/storetest"
)

func TestCreateWhileTheServiceWrites(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), t.TempDir())
	w := startWriter(t, f.db)
	for w.commits.Load() < 50 {
		time.Sleep(time.Millisecond) // let the writer get going
	}
	before := countRows(t, f.db, "messages")
	var mu sync.Mutex
	var progress []string
	res, err := f.svc.Create(ctx(), "", func(format string, args ...any) {
		mu.Lock()
		progress = append(progress, format)
		mu.Unlock()
	})
	after := countRows(t, f.db, "messages")
	must(t, w.Stop())
	if err != nil {
		t.Fatal(err)
	}
	if !res.Verified || res.VerifyErr != "" {
		t.Fatalf("not verified: %s", res.VerifyErr)
	}
	if after <= before {
		t.Fatalf("the writer did not commit during the backup (%d → %d)", before, after)
	}
	got := res.Manifest.Database.Tables["messages"]
	if got < before || got > after {
		t.Fatalf("copy has %d messages, want between %d and %d", got, before, after)
	}
	if res.Manifest.Database.Tables["users"] != 200 {
		t.Fatalf("users %d", res.Manifest.Database.Tables["users"])
	}
	stamp := "20261125_020000"
	if res.Stamp != stamp || res.Dir != filepath.Join(f.dir, "backups", stamp) {
		t.Fatalf("stamp %q dir %q", res.Stamp, res.Dir)
	}
	var names []string
	for _, fe := range res.Manifest.Files {
		names = append(names, fe.Name)
		if len(fe.SHA256) != 64 || fe.Size == 0 {
			t.Fatalf("entry %+v", fe)
		}
	}
	want := []string{"ai_tutor_" + stamp + ".db", "config_" + stamp + ".tar.gz", "uploads_" + stamp + ".tar.gz"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("files %v, want %v", names, want)
	}
	ents, _ := os.ReadDir(res.Dir)
	if len(ents) != 4 { // three files and manifest.json
		t.Fatalf("set folder holds %d files", len(ents))
	}
	must(t, backup.IntegrityCheck(ctx(), filepath.Join(res.Dir, want[0])))
	// The store knows the set as complete and verified.
	row, err := f.st.Backup(ctx(), res.ID)
	must(t, err)
	if row.Status != store.BackupComplete || !row.Verified() || row.SizeBytes != res.Size || row.Dir != res.Dir {
		t.Fatalf("row %+v", row)
	}
	if len(progress) < 4 {
		t.Fatalf("progress %v", progress)
	}
	// Nothing of the work is left behind.
	if ents, _ := os.ReadDir(filepath.Join(f.dir, "backups")); len(ents) != 1 {
		t.Fatalf("backup folder holds %v", ents)
	}
}

func TestArchivesAreReadableByTarAndStoreCompressedFiles(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), t.TempDir())
	outside := filepath.Join(t.TempDir(), "secret.txt")
	writeFile(t, outside, "outside-the-roots")
	must(t, os.Symlink(outside, filepath.Join(f.dir, "uploads", "link.txt")))
	res, err := f.svc.Create(ctx(), "api", nil)
	must(t, err)
	var up backup.FileEntry
	for _, fe := range res.Manifest.Files {
		if fe.Kind == "uploads" {
			up = fe
		}
	}
	if up.Stored < 1 {
		t.Fatalf("stored files %d, want the 1 MB jpg stored", up.Stored)
	}
	// Random 1 MB jpg + 300 kB of zeros: stored + deflated is just over 1 MB.
	if up.Size < 1<<20 || up.Size > 1<<20+64<<10 {
		t.Fatalf("uploads archive size %d", up.Size)
	}
	// GNU tar reads the multi-member gzip as one stream.
	if _, err := exec.LookPath("tar"); err == nil {
		out := t.TempDir()
		cmd := exec.Command("tar", "-xzf", filepath.Join(res.Dir, up.Name), "-C", out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("tar -xzf: %v: %s", err, b)
		}
		a, _ := os.ReadFile(filepath.Join(f.dir, "uploads", "photo.jpg"))
		b, _ := os.ReadFile(filepath.Join(out, "uploads", "photo.jpg"))
		if !bytes.Equal(a, b) {
			t.Fatal("photo.jpg differs after extraction")
		}
		if l, err := os.Readlink(filepath.Join(out, "uploads", "link.txt")); err != nil || l != outside {
			t.Fatalf("link.txt: %q %v (want a symlink, not its target's content)", l, err)
		}
	}
	// The config archive holds what the seed's tar held.
	names := tarNames(t, filepath.Join(res.Dir, "config_"+res.Stamp+".tar.gz"))
	for _, n := range []string{".env", "nginx/", "nginx/nginx.conf", "monitoring/", "monitoring/prometheus.yml"} {
		if !names[n] {
			t.Fatalf("config archive lacks %s: %v", n, names)
		}
	}
	if info, _ := os.Stat(filepath.Join(res.Dir, "config_"+res.Stamp+".tar.gz")); info.Mode().Perm() != 0o600 {
		t.Fatalf("config archive mode %v: it holds .env", info.Mode())
	}
}

func tarNames(t *testing.T, path string) map[string]bool {
	fh, err := os.Open(path)
	must(t, err)
	defer fh.Close()
	zr, err := kgzip.NewReader(fh)
	must(t, err)
	tr := tar.NewReader(zr)
	out := map[string]bool{}
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		out[h.Name] = true
	}
	return out
}

func TestConfigPathsOutsideTheWorkdir(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), t.TempDir())
	etc := t.TempDir()
	writeFile(t, filepath.Join(etc, "nginx", "sites", "api.conf"), "server {}\n")
	f.target().Backup.ConfigPaths = []string{".env", filepath.Join(etc, "nginx")}
	f.target().UploadsDir = filepath.Join(f.dir, "uploads") // absolute, inside the workdir
	res, err := f.svc.Create(ctx(), "api", nil)
	must(t, err)
	names := tarNames(t, filepath.Join(res.Dir, "config_"+res.Stamp+".tar.gz"))
	want := strings.TrimPrefix(filepath.ToSlash(etc), "/") + "/nginx/sites/api.conf"
	if !names[".env"] || !names[want] {
		t.Fatalf("config archive %v lacks .env or %s", names, want)
	}
	if up := tarNames(t, filepath.Join(res.Dir, "uploads_"+res.Stamp+".tar.gz")); !up["uploads/photo.jpg"] {
		t.Fatalf("uploads archive %v", up)
	}
}

func TestMissingConfigPathIsNotedNotFatal(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), t.TempDir())
	must(t, os.RemoveAll(filepath.Join(f.dir, "monitoring")))
	res, err := f.svc.Create(ctx(), "api", nil)
	must(t, err)
	if !res.Verified || strings.Join(res.Manifest.Missing, ",") != "monitoring" {
		t.Fatalf("verified %v missing %v", res.Verified, res.Manifest.Missing)
	}
}

func TestVerifyFindsDamageAndRestoreRefuses(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), t.TempDir())
	res, err := f.svc.Create(ctx(), "api", nil)
	must(t, err)
	// One flipped byte in the uploads archive.
	p := filepath.Join(res.Dir, "uploads_"+res.Stamp+".tar.gz")
	b, _ := os.ReadFile(p)
	b[len(b)/2] ^= 0xff
	must(t, os.WriteFile(p, b, 0o600))
	vr, err := f.svc.Verify(ctx(), "api", res.ID, nil)
	must(t, err)
	if vr.OK || !strings.Contains(vr.Err, "uploads_") {
		t.Fatalf("verify %+v", vr)
	}
	_, rows, _ := f.svc.List(ctx(), "")
	if rows[0].Verified() || rows[0].VerifyError == "" {
		t.Fatalf("list shows %+v", rows[0])
	}
	live, _ := os.ReadFile(f.db)
	_, err = f.svc.Restore(ctx(), "api", res.ID, nil)
	var pr *backup.Problem
	if !errors.As(err, &pr) || !strings.Contains(err.Error(), "failed verification") {
		t.Fatalf("restore of a damaged set: %v", err)
	}
	if readActions(t, f.dir) != "" {
		t.Fatal("the service was stopped for a refused restore")
	}
	if now, _ := os.ReadFile(f.db); !bytes.Equal(now, live) {
		t.Fatal("live database changed")
	}
}

func TestRestoreRechecksTheDatabaseCopy(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), t.TempDir())
	res, err := f.svc.Create(ctx(), "api", nil)
	must(t, err)
	// Verified at creation, damaged since.
	p := filepath.Join(res.Dir, "ai_tutor_"+res.Stamp+".db")
	b, _ := os.ReadFile(p)
	b[len(b)-100] ^= 0xff
	must(t, os.WriteFile(p, b, 0o600))
	_, err = f.svc.Restore(ctx(), "api", res.ID, nil)
	if err == nil || !strings.Contains(err.Error(), "fails verification now") || !strings.Contains(err.Error(), "nothing changed") {
		t.Fatalf("restore: %v", err)
	}
	if readActions(t, f.dir) != "" {
		t.Fatal("the service was stopped")
	}
	row, _ := f.st.Backup(ctx(), res.ID)
	if row.Verified() {
		t.Fatal("the failed check was not recorded")
	}
}

func TestRestore(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), t.TempDir())
	res, err := f.svc.Create(ctx(), "api", nil)
	must(t, err)
	// The live database moves on after the backup.
	db := openLive(t, f.db)
	_, err = db.Exec(`INSERT INTO users (name) VALUES ('late')`)
	must(t, err)
	db.Close()
	if countRows(t, f.db, "users") != 201 {
		t.Fatal("setup")
	}
	f.clock.Add(time.Hour)
	rr, err := f.svc.Restore(ctx(), "api", res.ID, nil)
	must(t, err)
	if got := readActions(t, f.dir); got != "stop\nstart\n" {
		t.Fatalf("actions %q", got)
	}
	if n := countRows(t, f.db, "users"); n != 200 {
		t.Fatalf("users after restore %d, want the backup's 200", n)
	}
	if len(rr.SetAside) == 0 || !strings.Contains(rr.SetAside[0], ".before-restore-20261125_030000") {
		t.Fatalf("set aside %v", rr.SetAside)
	}
	if n := countRows(t, rr.SetAside[0], "users"); n != 201 {
		t.Fatalf("set-aside database has %d users, want 201", n)
	}
	var m ops.Maintenance
	must(t, f.st.GetState(ctx(), ops.MaintenanceKey("api"), &m))
	if m.Until <= f.clock.Now().UnixMilli() {
		t.Fatalf("maintenance until %d", m.Until)
	}
	if h, _ := f.st.LockHolder(ctx(), ops.ActionLock("api"), f.clock.Now()); h != "" {
		t.Fatalf("action lock still held by %s", h)
	}
}

func TestRestoreUnhealthyPutsTheOldDatabaseBack(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), t.TempDir())
	res, err := f.svc.Create(ctx(), "api", nil)
	must(t, err)
	db := openLive(t, f.db)
	_, err = db.Exec(`INSERT INTO users (name) VALUES ('late')`)
	must(t, err)
	db.Close()
	// The "service" turns unhealthy when started on the restored data.
	f.healthy.Store(false)
	f.target().HealthDeadline = 200 * time.Millisecond
	_, err = f.svc.Restore(ctx(), "api", res.ID, nil)
	if err == nil || !strings.Contains(err.Error(), "not healthy after the restore") || !strings.Contains(err.Error(), "previous database was put back") {
		t.Fatalf("restore: %v", err)
	}
	if n := countRows(t, f.db, "users"); n != 201 {
		t.Fatalf("users %d: the previous database was not put back", n)
	}
	if got := readActions(t, f.dir); got != "stop\nstart\nstop\nstart\n" {
		t.Fatalf("actions %q", got)
	}
	left, _ := filepath.Glob(f.db + ".*")
	if len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
}

func TestRestoreRefusedWhileAnotherActionRuns(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), t.TempDir())
	res, err := f.svc.Create(ctx(), "api", nil)
	must(t, err)
	ok, err := f.st.TryLock(ctx(), ops.ActionLock("api"), "restart-by-alice", time.Minute, f.clock.Now())
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	live, _ := os.ReadFile(f.db)
	_, err = f.svc.Restore(ctx(), "api", res.ID, nil)
	if err == nil || !strings.Contains(err.Error(), "another action is running") || !strings.Contains(err.Error(), "restart-by-alice") {
		t.Fatalf("restore: %v", err)
	}
	if readActions(t, f.dir) != "" {
		t.Fatal("service touched")
	}
	if now, _ := os.ReadFile(f.db); !bytes.Equal(now, live) {
		t.Fatal("live database changed")
	}
	if h, _ := f.st.LockHolder(ctx(), ops.ActionLock("api"), f.clock.Now()); h != "restart-by-alice" {
		t.Fatalf("lock holder %q", h)
	}
}

func TestBadInput(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), t.TempDir())
	res, err := f.svc.Create(ctx(), "api", nil)
	must(t, err)
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"unknown id", func() error { _, err := f.svc.Restore(ctx(), "api", 99, nil); return err }, "there is no backup 99"},
		{"zero id", func() error { _, err := f.svc.Restore(ctx(), "api", 0, nil); return err }, "needs a backup id"},
		{"unknown target", func() error { _, err := f.svc.Create(ctx(), "web", nil); return err }, `unknown target "web"`},
		{"verify unknown", func() error { _, err := f.svc.Verify(ctx(), "", 42, nil); return err }, "there is no backup 42"},
		{"no stop argv", func() error {
			f.target().Stop = nil
			_, err := f.svc.Restore(ctx(), "api", res.ID, nil)
			return err
		}, "needs stop and start argv"},
	}
	for _, c := range cases {
		err := c.run()
		var pr *backup.Problem
		if !errors.As(err, &pr) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	f.cfg.Targets = append(f.cfg.Targets, f.cfg.Targets[0])
	f.cfg.Targets[1].Name = "worker"
	if _, err := f.svc.Verify(ctx(), "worker", res.ID, nil); err == nil || !strings.Contains(err.Error(), "belongs to api") {
		t.Errorf("verify of another target's set: %v", err)
	}
	if _, err := f.svc.Create(ctx(), "", nil); err == nil || !strings.Contains(err.Error(), "several targets") {
		t.Errorf("no target named: %v", err)
	}
	if _, rows, _ := f.svc.List(ctx(), "api"); len(rows) != 1 {
		t.Errorf("bad input changed the sets: %d", len(rows))
	}
}

func TestRetentionKeepsTheNewestVerifiedSet(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), t.TempDir())
	day := 24 * time.Hour
	f.target().Backup.Retention = 1000 * day // no pruning while the sets are made
	create := func() backup.Result {
		res, err := f.svc.Create(ctx(), "api", nil)
		must(t, err)
		return res
	}
	a := create() // day 0
	f.clock.Add(day)
	b := create() // day 1: the newest verified set in the end
	f.clock.Add(44 * day)
	c := create() // day 45, damaged below so it is not verified
	p := filepath.Join(c.Dir, "config_"+c.Stamp+".tar.gz")
	must(t, os.WriteFile(p, []byte("junk"), 0o600))
	vr, err := f.svc.Verify(ctx(), "api", c.ID, nil)
	must(t, err)
	if vr.OK {
		t.Fatal("damaged set verified")
	}
	f.clock.Add(5 * day)
	f.target().Backup.Retention = 30 * day
	deleted, err := f.svc.Prune(ctx(), "api")
	must(t, err)
	if len(deleted) != 1 || deleted[0] != a.ID {
		t.Fatalf("deleted %v, want only %d", deleted, a.ID)
	}
	if _, err := os.Stat(a.Dir); !os.IsNotExist(err) {
		t.Fatalf("old set still on disk: %v", err)
	}
	if _, err := os.Stat(b.Dir); err != nil {
		t.Fatalf("newest verified set removed: %v", err)
	}
	_, rows, _ := f.svc.List(ctx(), "api")
	if len(rows) != 2 || rows[0].ID != c.ID || rows[1].ID != b.ID {
		t.Fatalf("list after prune: %+v", rows)
	}
	// Once a newer verified set exists, the old one goes too.
	f.clock.Add(day)
	d := create()
	if len(d.Pruned) != 1 || d.Pruned[0] != b.ID {
		t.Fatalf("pruned %v, want %d", d.Pruned, b.ID)
	}
}

func TestOffsiteCopy(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), t.TempDir())
	remote := t.TempDir()
	f.target().Backup.Offsite = []string{"cp", "-r", "-t", remote}
	res, err := f.svc.Create(ctx(), "api", nil)
	must(t, err)
	if res.Offsite == nil || !res.Offsite.OK {
		t.Fatalf("offsite %+v", res.Offsite)
	}
	if _, err := os.Stat(filepath.Join(remote, res.Stamp, "uploads_"+res.Stamp+".tar.gz")); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(res.Dir, "manifest.json"))
	m, err := backup.ParseManifest(string(b))
	must(t, err)
	if m.Offsite == nil || !m.Offsite.OK {
		t.Fatalf("manifest offsite %+v", m.Offsite)
	}
	row, _ := f.st.Backup(ctx(), res.ID)
	if !regexp.MustCompile(`^ok in `).MatchString(row.Offsite) || row.OffsiteOK.Int64 != 1 {
		t.Fatalf("row offsite %q", row.Offsite)
	}

	f.clock.Add(time.Minute)
	f.target().Backup.Offsite = []string{"sh", "-c", "echo no route to host >&2; exit 3", "x"}
	res, err = f.svc.Create(ctx(), "api", nil)
	must(t, err)
	if res.Offsite == nil || res.Offsite.OK || res.Offsite.Exit != 3 {
		t.Fatalf("offsite %+v", res.Offsite)
	}
	row, _ = f.st.Backup(ctx(), res.ID)
	if !strings.Contains(row.Offsite, "exit status 3: no route to host") || row.OffsiteOK.Int64 != 0 {
		t.Fatalf("row offsite %q", row.Offsite)
	}
}

func TestDumpFailureLeavesNothing(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), t.TempDir())
	f.target().Database = configPG([]string{"sh", "-c", "echo 'connection refused' >&2; echo partial > \"$0\"; exit 1"})
	_, err := f.svc.Create(ctx(), "api", nil)
	if err == nil || !strings.Contains(err.Error(), "dump database") || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "partial files removed") {
		t.Fatalf("create: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Join(f.dir, "backups"))
	if len(ents) != 0 {
		t.Fatalf("left behind: %v", ents)
	}
	_, rows, _ := f.svc.List(ctx(), "api")
	if len(rows) != 1 || rows[0].Status != store.BackupFailed || !strings.Contains(rows[0].Error, "connection refused") {
		t.Fatalf("rows %+v", rows)
	}
}

// TestUploadsOutsideTheWorkdirNamedFromTheFolder: an uploads folder far from
// the workdir is archived as uploads/…, not under the folders above it.
func TestUploadsOutsideTheWorkdirNamedFromTheFolder(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), t.TempDir())
	far := filepath.Join(t.TempDir(), "srv", "data", "uploads")
	writeFile(t, filepath.Join(far, "lesson", "photo.jpg"), "jpeg bytes")
	f.target().UploadsDir = far
	res, err := f.svc.Create(ctx(), "api", nil)
	must(t, err)
	names := tarNames(t, filepath.Join(res.Dir, "uploads_"+res.Stamp+".tar.gz"))
	if !names["uploads/lesson/photo.jpg"] {
		t.Fatalf("uploads archive %v lacks uploads/lesson/photo.jpg", names)
	}
	for n := range names {
		if !strings.HasPrefix(n, "uploads/") {
			t.Fatalf("entry %q is not under uploads/", n)
		}
	}
}
