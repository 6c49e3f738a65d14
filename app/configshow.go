package app

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"opsbot/config"
	"opsbot/rules"
)

// configShow is `opsbot config show [--defaults]`: the rules in force as
// YAML in the form rules.rules takes, ready to copy into a file; with
// --defaults, the built-in rules of a configuration without a file.
func configShow(stdout io.Writer, cfgPath *string) *cobra.Command {
	var defaults bool
	cmd := &cobra.Command{
		Use: "show", Short: "print the rules in force (--defaults: the built-in ones) as YAML to copy", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := config.Default()
			head := "# The built-in rules in the form rules.rules takes. A rule of your file\n" +
				"# with a built-in's name replaces it; copy one to change it.\n"
			if !defaults {
				if *cfgPath == "" {
					*cfgPath = os.Getenv("OPSBOT_CONFIG")
				}
				var err error
				if cfg, err = config.Load(*cfgPath); err != nil {
					return err
				}
				head = "# The rules in force: the built-ins, as your file replaces them, then your own.\n"
			}
			out := rules.DefaultConfig(cfg)
			if !defaults {
				out = inForce(cfg)
			}
			var b strings.Builder
			enc := yaml.NewEncoder(&b)
			enc.SetIndent(2)
			if err := enc.Encode(map[string]any{"rules": map[string]any{"rules": out}}); err != nil {
				return fmt.Errorf("config show: %w", err)
			}
			_, err := fmt.Fprint(stdout, head+b.String())
			return err
		},
	}
	cmd.Flags().BoolVar(&defaults, "defaults", false, "the built-in rules, whatever the file says")
	return cmd
}

func inForce(cfg *config.Config) []config.AlertRule {
	own := map[string]config.AlertRule{}
	for _, r := range cfg.Rules.Rules {
		own[r.Name] = r
	}
	var out []config.AlertRule
	for _, d := range rules.DefaultConfig(cfg) {
		if r, ok := own[d.Name]; ok {
			d = r
			delete(own, r.Name)
		}
		out = append(out, d)
	}
	for _, r := range cfg.Rules.Rules {
		if _, ok := own[r.Name]; ok {
			out = append(out, r)
		}
	}
	return out
}
