package backup_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"opsbot/ops/backup"
	"opsbot/store/storetest"
)

// The checksum a set records for each file is the sha256 of that file as
// it lies on disk, the database copy included (hashed in one read after
// the copy, not while SQLite wrote it).
func TestRecordedChecksumsAreThoseOfTheFilesOnDisk(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), t.TempDir())
	w := startWriter(t, f.db)
	for w.commits.Load() < 20 {
		time.Sleep(time.Millisecond)
	}
	res, err := f.svc.Create(ctx(), "api", nil)
	must(t, w.Stop())
	must(t, err)
	raw, err := os.ReadFile(filepath.Join(res.Dir, "manifest.json"))
	must(t, err)
	var onDisk backup.Manifest
	must(t, json.Unmarshal(raw, &onDisk))
	if len(onDisk.Files) != 3 {
		t.Fatalf("manifest lists %d files", len(onDisk.Files))
	}
	for _, fe := range onDisk.Files {
		b, err := os.ReadFile(filepath.Join(res.Dir, fe.Name))
		must(t, err)
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != fe.SHA256 || int64(len(b)) != fe.Size {
			t.Fatalf("%s: on disk sha256 %s size %d, manifest %s size %d", fe.Name, got, len(b), fe.SHA256, fe.Size)
		}
	}
	if len(onDisk.Database.Estimated) != 0 {
		t.Fatalf("a database never analysed has estimated counts: %v", onDisk.Database.Estimated)
	}
}

// A copy damaged after the set was made fails its checksum, and quick_check
// (which the check after creation relies on) finds the damage on its own.
func TestDamagedCopyIsCaughtByChecksumAndQuickCheck(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), t.TempDir())
	res, err := f.svc.Create(ctx(), "api", nil)
	must(t, err)
	if !res.Verified {
		t.Fatalf("not verified: %s", res.VerifyErr)
	}
	p := filepath.Join(res.Dir, "ai_tutor_"+res.Stamp+".db")
	b, err := os.ReadFile(p)
	must(t, err)
	// Page 2 (the users table's b-tree) overwritten; the size is unchanged.
	for i := 4096; i < 8192; i++ {
		b[i] = 0xa5
	}
	must(t, os.WriteFile(p, b, 0o600))
	if err := backup.QuickCheck(ctx(), p); err == nil {
		t.Fatal("quick_check passed a damaged copy")
	}
	vr, err := f.svc.Verify(ctx(), "api", res.ID, nil)
	must(t, err)
	if vr.OK || !strings.Contains(vr.Err, "sha256") {
		t.Fatalf("verify %+v", vr)
	}
}

// A database that was analysed has its row counts taken from sqlite_stat1
// and the manifest says so; a table without statistics is counted.
func TestRowCountsFromTheCopysStatistics(t *testing.T) {
	f := newFixture(t, storetest.SQLite(t), t.TempDir())
	db := openLive(t, f.db)
	_, err := db.Exec(`ANALYZE; CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('a'), ('b')`)
	must(t, err)
	for range 5 { // after the ANALYZE: the estimate does not see them
		_, err := db.Exec(`INSERT INTO users (name) VALUES ('late')`)
		must(t, err)
	}
	res, err := f.svc.Create(ctx(), "api", nil)
	must(t, err)
	if !res.Verified {
		t.Fatalf("not verified: %s", res.VerifyErr)
	}
	m := res.Manifest.Database
	if m.Tables["users"] != 200 || !slices.Contains(m.Estimated, "users") {
		t.Fatalf("users %d, estimated %v: want the statistics' 200, marked", m.Tables["users"], m.Estimated)
	}
	if m.Tables["notes"] != 2 || slices.Contains(m.Estimated, "notes") {
		t.Fatalf("notes %d, estimated %v: want an exact 2", m.Tables["notes"], m.Estimated)
	}
	copyPath := filepath.Join(res.Dir, m.File)
	exact, err := backup.RowCounts(ctx(), copyPath)
	must(t, err)
	if exact["users"] != 205 {
		t.Fatalf("exact users %d", exact["users"])
	}
	// An independent check agrees with the manifest's figures.
	vr, err := f.svc.Verify(ctx(), "api", res.ID, nil)
	must(t, err)
	if !vr.OK {
		t.Fatalf("verify: %s", vr.Err)
	}
}
