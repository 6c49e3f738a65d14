package app

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"opsbot/config"
	"opsbot/rules"
)

// `config show --defaults` prints YAML a user can paste: the file it makes
// passes the loader and compiles to exactly the built-in rules.
func TestConfigShowDefaultsRoundTrips(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main([]string{"config", "show", "--defaults"}, "test", nil, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "  rules:\n    - name: cpu_high\n      expr: cpu_pct > 85\n") {
		t.Fatalf("output:\n%s", out.String())
	}
	path := filepath.Join(t.TempDir(), "opsbot.yaml")
	os.WriteFile(path, out.Bytes(), 0o600)
	cfg, err := config.LoadEnv(path, map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Rules.Rules) != len(rules.DefaultConfig(cfg)) {
		t.Fatalf("pasted %d rules", len(cfg.Rules.Rules))
	}
	got, err := rules.RulesFrom(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := rules.DefaultRules(config.Default()); !reflect.DeepEqual(got, want) {
		t.Fatalf("pasted rules differ:\n%+v\nwant\n%+v", got, want)
	}
}
