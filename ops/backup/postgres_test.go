package backup_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"opsbot/store"
	"opsbot/store/storetest"
)

// A PostgreSQL target is backed up by its configured pg_dump argv.
func TestPostgresTargetRunsTheDumpArgv(t *testing.T) {
	dsn := os.Getenv("OPSBOT_TEST_POSTGRES_DSN")
	if dsn == "" {
		storetest.Skip(t, "OPSBOT_TEST_POSTGRES_DSN not set")
	}
	if _, err := exec.LookPath("pg_dump"); err != nil {
		t.Skip("pg_dump not installed")
	}
	admin, err := store.Open(ctx(), "postgres", dsn)
	if err != nil {
		storetest.Skip(t, "postgres unreachable: %v", err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "bk_" + hex.EncodeToString(b)
	_, err = admin.DB.Exec(`CREATE SCHEMA ` + schema + `; CREATE TABLE ` + schema + `.lessons (id int, title text); INSERT INTO ` + schema + `.lessons VALUES (1, 'algebra')`)
	must(t, err)
	t.Cleanup(func() { _, _ = admin.DB.Exec(`DROP SCHEMA ` + schema + ` CASCADE`) })

	f := newFixture(t, storetest.SQLite(t), t.TempDir())
	f.target().Database = configPG([]string{"pg_dump", "--dbname=" + dsn, "--schema=" + schema, "--format=custom", "--file"})
	res, err := f.svc.Create(ctx(), "api", nil)
	must(t, err)
	if !res.Verified || res.Manifest.Database.Driver != "postgres" || res.Manifest.Files[0].Name != "ai_tutor_"+res.Stamp+".dump" {
		t.Fatalf("result %+v", res)
	}
	out, err := exec.Command("pg_restore", "--list", filepath.Join(res.Dir, res.Manifest.Files[0].Name)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "TABLE DATA "+schema+" lessons") {
		t.Fatalf("pg_restore --list: %v\n%s", err, out)
	}
	if _, err := f.svc.Restore(ctx(), "api", res.ID, nil); err == nil || !strings.Contains(err.Error(), "pg_restore") {
		t.Fatalf("restore of a PostgreSQL set: %v", err)
	}
}
