package diagnose_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"opsbot/config"
	"opsbot/ops/diagnose"
)

// snapshot records every file under root: name, size, mode, modification time.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out[p] = fmt.Sprintf("%d %v %d", info.Size(), info.Mode(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// No diagnosis writes anything: every symptom run over a target's files
// (database, logs, settings) leaves every file and folder as it was.
func TestDiagnosisWritesNothing(t *testing.T) {
	f := newFixture(t)
	dir := f.t.Workdir
	db := filepath.Join(dir, "data", "ai_tutor.db")
	if err := os.MkdirAll(filepath.Dir(db), 0o755); err != nil {
		t.Fatal(err)
	}
	makeDB(t, db)
	if err := os.WriteFile(filepath.Join(dir, ".env"), []byte("TONGYI_API_KEY="+demoKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.t.Database = config.Database{Driver: "sqlite", Path: db}
	f.t.Logs["llm"] = config.LogFile{Path: llmLog(t, dir, f.now, 10, 2, 2)}
	for _, name := range []string{"error", "security", "access"} {
		p := filepath.Join(dir, name+".log")
		if err := os.WriteFile(p, []byte("2026-11-25T09:59:00.000+00:00 ERROR something\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		f.t.Logs[name] = config.LogFile{Path: p}
	}
	f.t.Service = config.Service{PIDFile: writePID(t, dir, int32(os.Getpid())), User: "nobody"}
	before := snapshot(t, dir)
	for _, s := range diagnose.Symptoms {
		f.run(t, s)
	}
	after := snapshot(t, dir)
	for p, was := range before {
		if now, ok := after[p]; !ok || now != was {
			t.Errorf("%s changed: %q → %q", p, was, now)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s was created", p)
		}
	}
}
