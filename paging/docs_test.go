package paging_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"opsbot/config"
)

// The configuration in docs/paging.md loads and passes config check (with
// its secrets set), so the documented example is one that works.
func TestDocumentedConfigIsValid(t *testing.T) {
	doc, err := os.ReadFile("../docs/paging.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 2 {
		t.Fatalf("docs/paging.md has %d yaml blocks", len(blocks))
	}
	// The first block opens paging:, the second adds integrations and policies.
	yaml := blocks[0][1] + blocks[1][1]
	dir := t.TempDir()
	path := filepath.Join(dir, "opsbot.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.LoadEnv(path, map[string]string{"OPSBOT_PAGING_SMS_SECRET": "k", "OPSBOT_PAGING_MAIL_SECRET": "p"})
	if err != nil {
		t.Fatalf("documented config: %v", err)
	}
	pol, ok := c.Paging.PolicyFor("critical", "health")
	if !ok || len(pol.Steps) != 4 || strings.Join(pol.Steps[1].Via, ",") != "sms,mail" {
		t.Fatalf("critical policy %+v", pol)
	}
	if pol, ok := c.Paging.PolicyFor("warning", "threshold"); !ok || strings.Join(pol.Steps[0].Via, ",") != "mail" {
		t.Fatalf("warning policy %+v", pol)
	}
	// Without the secrets, config check names them.
	_, err = config.LoadEnv(path, map[string]string{})
	if err == nil || !strings.Contains(err.Error(), "OPSBOT_PAGING_SMS_SECRET") || !strings.Contains(err.Error(), "OPSBOT_PAGING_MAIL_SECRET") {
		t.Fatalf("missing secrets not reported: %v", err)
	}
}
