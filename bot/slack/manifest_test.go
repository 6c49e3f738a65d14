package slack

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type manifest struct {
	Features struct {
		SlashCommands []struct {
			Command      string `yaml:"command"`
			URL          string `yaml:"url"`
			ShouldEscape bool   `yaml:"should_escape"`
		} `yaml:"slash_commands"`
	} `yaml:"features"`
	OAuth struct {
		Scopes struct {
			Bot []string `yaml:"bot"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		Interactivity struct {
			Enabled    bool   `yaml:"is_enabled"`
			RequestURL string `yaml:"request_url"`
		} `yaml:"interactivity"`
		SocketMode bool `yaml:"socket_mode_enabled"`
	} `yaml:"settings"`
}

// The committed manifests declare /ops (with mentions escaped to ids), the
// scopes the adapter uses, and
// (HTTP variant) the paths Handler serves.
func TestManifests(t *testing.T) {
	for _, c := range []struct {
		file   string
		socket bool
	}{{"manifest-http.yaml", false}, {"manifest-socket.yaml", true}} {
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "slack", c.file))
			if err != nil {
				t.Fatal(err)
			}
			var m manifest
			if err := yaml.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/ops" {
				t.Fatalf("slash commands %+v", m.Features.SlashCommands)
			}
			// Without escaping Slack sends "@alice" as plain text, and
			// `incident lead` cannot learn who is meant.
			if !m.Features.SlashCommands[0].ShouldEscape {
				t.Error("/ops must have should_escape: true (user mentions as ids)")
			}
			// The manifest asks for exactly the scopes the code lists.
			var want []string
			for _, s := range Scopes {
				want = append(want, s.Name)
			}
			got := slices.Clone(m.OAuth.Scopes.Bot)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("manifest scopes %v, the code's %v", got, want)
			}
			if !m.Settings.Interactivity.Enabled || m.Settings.SocketMode != c.socket {
				t.Fatalf("settings %+v", m.Settings)
			}
			cmdURL, intURL := m.Features.SlashCommands[0].URL, m.Settings.Interactivity.RequestURL
			if c.socket {
				if cmdURL != "" || intURL != "" {
					t.Fatalf("socket variant has URLs %q %q", cmdURL, intURL)
				}
				return
			}
			if !strings.HasSuffix(cmdURL, CommandsPath) || !strings.HasSuffix(intURL, InteractionsPath) {
				t.Fatalf("URLs %q %q do not end in %s / %s", cmdURL, intURL, CommandsPath, InteractionsPath)
			}
		})
	}
}

// docs/slack.md lists every scope the code uses, bot and app-level.
func TestDocsListEveryScope(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "slack.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(slices.Clone(Scopes), AppScopes...) {
		if !strings.Contains(string(b), "| `"+s.Name+"` |") {
			t.Errorf("docs/slack.md does not list %s in its scope table", s.Name)
		}
	}
}
