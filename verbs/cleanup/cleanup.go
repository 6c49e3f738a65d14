// Package cleanup holds the `cleanup [--dry-run]` verb: the seed's log and
// temp cleanup (ops/cleanup), reported as actions and bytes freed.
package cleanup

import (
	"context"
	"fmt"
	"opsbot/ops"
	"strings"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	opcleanup "opsbot/ops/cleanup"
	"opsbot/policy"
)

// Deps are what the verb needs.
type Deps struct {
	Config func() *config.Config
}

// shownActions fit in one message; the full list is attached.
const shownActions = 25

// Verbs returns the cleanup verb.
func Verbs(d Deps) []*commands.Verb {
	target := func(c *commands.Call) string { return commands.DefaultTarget(d.Config(), c.Flag("target")) }
	return []*commands.Verb{{
		Name:    "cleanup",
		Summary: "gzip logs older than a week, delete old .gz logs and temp files (--dry-run shows what would go)",
		Flags: []commands.Flag{
			{Name: "dry-run", Bool: true, Help: "report what would be done, change nothing"},
			{Name: "target", Help: "target to clean (default: the only one)"},
		},
		Examples: []string{"/ops cleanup --dry-run", "/ops cleanup"},
		// It deletes files, so it needs a role.
		Access: policy.Operate,
		Slow:   true,
		Target: target,
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			cfg := d.Config()
			t, err := commands.PickTarget(cfg, c.Flag("target"))
			if err != nil {
				return commands.Response{}, err
			}
			c.Progress("cleaning %s…", t.Name)
			rep, err := opcleanup.Run(ctx, t, opcleanup.Options{DryRun: c.Has("dry-run"), Now: c.Now})
			if err != nil {
				return commands.Response{}, err
			}
			return render(rep), nil
		},
	}}
}

func render(rep opcleanup.Report) commands.Response {
	title := "Cleanup of " + rep.Target
	verb := map[string]string{opcleanup.Gzip: "gzipped", opcleanup.Delete: "deleted", opcleanup.Skip: "skipped"}
	if rep.DryRun {
		title += " (dry run: nothing changed)"
		verb = map[string]string{opcleanup.Gzip: "would gzip", opcleanup.Delete: "would delete", opcleanup.Skip: "would skip"}
	}
	freed := "freed " + ops.Bytes(rep.Freed)
	if rep.DryRun {
		freed = "would free at least " + ops.Bytes(rep.Freed)
	}
	text := fmt.Sprintf("%s %d logs, %s %d files; %s", verb[opcleanup.Gzip], rep.Count(opcleanup.Gzip), verb[opcleanup.Delete], rep.Count(opcleanup.Delete), freed)
	if n := rep.Count(opcleanup.Skip); n > 0 {
		text += fmt.Sprintf("; %d symlinks not followed", n)
	}
	if len(rep.Actions) == 0 {
		text = "nothing to clean"
	}
	msg := chat.Message{Title: title, Severity: chat.SevOK, Text: text, Context: "roots: " + strings.Join(rep.Roots, ", ")}
	var b strings.Builder
	for _, a := range rep.Actions {
		fmt.Fprintf(&b, "%-12s %-48s %9s", verb[a.Kind], a.Path, ops.Bytes(a.Size))
		if a.Freed > 0 {
			fmt.Fprintf(&b, "  freed %s", ops.Bytes(a.Freed))
		}
		if a.Note != "" {
			b.WriteString("  " + a.Note)
		}
		b.WriteString("\n")
	}
	full := b.String()
	lines := strings.SplitAfter(full, "\n")
	if len(lines) > shownActions+1 {
		msg.Code = strings.Join(lines[:shownActions], "") + "…"
		msg.Files = []chat.File{{Name: "cleanup-" + rep.Target + ".txt", Mime: "text/plain", Data: []byte(full)}}
		msg.Text += fmt.Sprintf("; the first %d actions below, all %d attached", shownActions, len(rep.Actions))
	} else {
		msg.Code = strings.TrimRight(full, "\n")
	}
	if len(rep.Errors) > 0 {
		msg.Severity = chat.SevWarning
		errs := rep.Errors
		if len(errs) > 5 {
			errs = append(errs[:5:5], fmt.Sprintf("… %d more", len(rep.Errors)-5))
		}
		msg.Fields = append(msg.Fields, chat.Field{Name: "problems", Value: strings.Join(errs, "\n")})
	}
	return commands.Response{Message: msg}
}
