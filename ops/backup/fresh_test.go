package backup

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The check Create runs on the set it has just made does not read the
// copy for its checksum again, but its quick_check still finds a damaged
// copy, and a copy of the wrong size.
func TestFreshVerificationStillCatchesADamagedCopy(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	db := openTestDB(t, src)
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 2000) INSERT INTO t (body) SELECT printf('%0100d', i) FROM n`); err != nil {
		t.Fatal(err)
	}
	set := filepath.Join(dir, "set")
	if err := os.Mkdir(set, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(set, "copy.db")
	if err := CopySQLite(ctx, src, out); err != nil {
		t.Fatal(err)
	}
	fe, err := hashFile(out)
	if err != nil {
		t.Fatal(err)
	}
	fe.Kind = "database"
	var m Manifest
	m.Database.Driver, m.Database.File = "sqlite", fe.Name
	m.Files = []FileEntry{fe}
	if err := verifySet(ctx, set, m, nil, true); err != nil {
		t.Fatalf("a good copy: %v", err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(b) / 2; i < len(b)/2+4096; i++ {
		b[i] = 0x5a
	}
	if err := os.WriteFile(out, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := verifySet(ctx, set, m, nil, true); err == nil || !strings.Contains(err.Error(), "quick check") {
		t.Fatalf("a damaged copy: %v", err)
	}
	if err := os.WriteFile(out, b[:len(b)-4096], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := verifySet(ctx, set, m, nil, true); err == nil || !strings.Contains(err.Error(), "size") {
		t.Fatalf("a short copy: %v", err)
	}
}

func openTestDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}
