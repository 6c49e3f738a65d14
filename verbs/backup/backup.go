// Package backup holds the backup verbs: `backup` (= `backup create`),
// `backup list`, `backup verify [id]` and the guarded `backup restore <id>`.
// The work is done by ops/backup; this package parses arguments and shapes
// the replies.
package backup

import (
	"context"
	"errors"
	"fmt"
	"opsbot/ops"
	"strconv"
	"strings"
	"time"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/human"
	opbackup "opsbot/ops/backup"
	"opsbot/policy"
	"opsbot/store"
	"opsbot/textclip"
)

// Backups is what the verbs need of ops/backup (*opbackup.Service).
type Backups interface {
	Create(ctx context.Context, target string, p opbackup.Progress) (opbackup.Result, error)
	List(ctx context.Context, target string) (string, []store.BackupRow, error)
	Verify(ctx context.Context, target string, id int64, p opbackup.Progress) (opbackup.VerifyResult, error)
	Restore(ctx context.Context, target string, id int64, p opbackup.Progress) (opbackup.RestoreResult, error)
}

var _ Backups = (*opbackup.Service)(nil)

// Deps are what the verbs need.
type Deps struct {
	Config  func() *config.Config
	Backups Backups
}

// Verbs returns the backup verb and its subcommands.
func Verbs(d Deps) []*commands.Verb {
	target := func(c *commands.Call) string { return commands.DefaultTarget(d.Config(), c.Flag("target")) }
	targetFlag := commands.Flag{Name: "target", Help: "target to work on (default: the only one)"}
	idParam := func(required bool, help string) commands.Param {
		return commands.Param{Name: "id", Required: required, Kind: "int", Help: help}
	}
	return []*commands.Verb{{
		Name:    "backup",
		Summary: "back up the database, configuration and uploads; list, verify and restore backups",
		Default: "create",
		Subs: []*commands.Verb{{
			Name:     "create",
			Access:   policy.Operate,
			Summary:  "make a backup set now: an online copy of the database, config and uploads archives, a manifest; then verify it",
			Flags:    []commands.Flag{targetFlag},
			Examples: []string{"/ops backup", "/ops backup create --target api"},
			Slow:     true,
			Target:   target,
			Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
				res, err := d.Backups.Create(ctx, c.Flag("target"), c.Progress)
				if err != nil {
					return commands.Response{}, userError(err)
				}
				return renderCreate(res), nil
			},
		}, {
			Name:     "list",
			Access:   policy.Read,
			Summary:  "the backup sets kept: size, age, verified or not, off-host copy",
			Flags:    []commands.Flag{targetFlag},
			Examples: []string{"/ops backup list"},
			Target:   target,
			Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
				name, rows, err := d.Backups.List(ctx, c.Flag("target"))
				if err != nil {
					return commands.Response{}, userError(err)
				}
				return renderList(name, rows, c.Now, c.Zone()), nil
			},
		}, {
			Name:     "verify",
			Access:   policy.Operate,
			Summary:  "check a set again: integrity_check of the database copy, archives read to the end, checksums against the manifest",
			Params:   []commands.Param{idParam(false, "backup number from /ops backup list (default: the newest)")},
			Flags:    []commands.Flag{targetFlag},
			Examples: []string{"/ops backup verify", "/ops backup verify 7"},
			Slow:     true,
			Target:   target,
			Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
				var id int64
				if c.Arg(0) != "" {
					var err error
					if id, err = parseID(c.Arg(0)); err != nil {
						return commands.Response{}, err
					}
				}
				r, err := d.Backups.Verify(ctx, c.Flag("target"), id, c.Progress)
				if err != nil {
					return commands.Response{}, userError(err)
				}
				if !r.OK {
					return commands.Response{Message: chat.Message{
						Title: fmt.Sprintf("Backup %d FAILED verification", r.ID), Severity: chat.SevCritical,
						Text: textclip.Runes(r.Err, 1500, textclip.Ellipsis), Context: "it cannot be restored; make a new backup",
					}}, nil
				}
				return commands.Response{Message: chat.Message{
					Title: fmt.Sprintf("Backup %d verified", r.ID), Severity: chat.SevOK,
					Text: "checksums match the manifest, every archive reads to the end, the database copy passes integrity_check",
				}}, nil
			},
		}, {
			Name:     "restore",
			Summary:  "put a verified set's database back: stop, swap (the current one is set aside), start, check health; on failure the current one is put back",
			Params:   []commands.Param{idParam(true, "backup number from /ops backup list")},
			Flags:    []commands.Flag{targetFlag},
			Examples: []string{"/ops backup restore 7"},
			Access:   policy.Dangerous,
			Slow:     true,
			Target:   target,
			Check: func(ctx context.Context, c *commands.Call) error {
				if _, err := parseID(c.Arg(0)); err != nil {
					return err
				}
				_, err := commands.PickTarget(d.Config(), c.Flag("target"))
				return err
			},
			Describe: func(c *commands.Call) string {
				what := "restore backup " + c.Arg(0)
				if t := target(c); t != "" {
					what += " of " + t
				}
				return what
			},
			Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
				id, err := parseID(c.Arg(0))
				if err != nil {
					return commands.Response{}, err
				}
				r, err := d.Backups.Restore(ctx, c.Flag("target"), id, c.Progress)
				if err != nil {
					return commands.Response{}, userError(err)
				}
				aside := make([]string, len(r.SetAside))
				for i, p := range r.SetAside {
					aside[i] = "`" + p + "`"
				}
				return commands.Response{Message: chat.Message{
					Title:    fmt.Sprintf("Backup %d restored on %s", r.ID, r.Target),
					Severity: chat.SevOK,
					Text:     fmt.Sprintf("took %s; healthy %s after start.", r.Took.Round(100*time.Millisecond), r.Healthy.Round(100*time.Millisecond)),
					Context:  "the previous database was set aside as " + strings.Join(aside, ", "),
				}}, nil
			},
		}},
	}}
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, commands.Errorf("a backup id is a whole number such as 7 (see backup list), got %q", textclip.Runes(s, 40, textclip.Ellipsis))
	}
	return id, nil
}

// userError shows ops/backup's expected failures (refusals, bad input,
// full disk) as they are; anything else stays an internal error.
func userError(err error) error {
	var p *opbackup.Problem
	if errors.As(err, &p) {
		return commands.Errorf("%s", p.Msg)
	}
	return err
}

func renderCreate(r opbackup.Result) commands.Response {
	msg := chat.Message{
		Title:    fmt.Sprintf("Backup %d of %s", r.ID, r.Target),
		Severity: chat.SevOK,
		Fields: []chat.Field{
			{Name: "size", Value: ops.Bytes(r.Size), Inline: true},
			{Name: "took", Value: human.Duration(r.Took), Inline: true},
			{Name: "verified", Value: "yes", Inline: true},
		},
	}
	if !r.Verified {
		msg.Severity = chat.SevCritical
		msg.Fields[2].Value = "NO"
		msg.Text = "made, but it FAILED verification: " + textclip.Runes(r.VerifyErr, 800, textclip.Ellipsis)
	}
	if r.Offsite != nil {
		v := r.Offsite.Summary()
		if !r.Offsite.OK && msg.Severity == chat.SevOK {
			msg.Severity = chat.SevWarning
		}
		msg.Fields = append(msg.Fields, chat.Field{Name: "off-host", Value: textclip.Runes(v, 200, textclip.Ellipsis), Inline: true})
	}
	var b strings.Builder
	for _, f := range r.Manifest.Files {
		fmt.Fprintf(&b, "%-36s %10s", f.Name, ops.Bytes(f.Size))
		if f.Kind == "database" && len(r.Manifest.Database.Tables) > 0 {
			var rows int64
			for _, n := range r.Manifest.Database.Tables {
				rows += n
			}
			fmt.Fprintf(&b, "  %d tables, %d rows", len(r.Manifest.Database.Tables), rows)
		}
		if f.Entries > 0 {
			fmt.Fprintf(&b, "  %d entries", f.Entries)
		}
		b.WriteString("\n")
	}
	msg.Code = strings.TrimRight(b.String(), "\n")
	var notes []string
	notes = append(notes, "in "+r.Dir)
	if len(r.Manifest.Missing) > 0 {
		notes = append(notes, "not found, skipped: "+strings.Join(r.Manifest.Missing, ", "))
	}
	if len(r.Manifest.Warnings) > 0 {
		notes = append(notes, fmt.Sprintf("%d warnings (files changed while read), see the manifest", len(r.Manifest.Warnings)))
	}
	if len(r.Pruned) > 0 {
		ids := make([]string, len(r.Pruned))
		for i, id := range r.Pruned {
			ids[i] = strconv.FormatInt(id, 10)
		}
		notes = append(notes, "retention removed "+strings.Join(ids, ", "))
	}
	msg.Context = strings.Join(notes, " · ")
	return commands.Response{Message: msg}
}

func renderList(target string, rows []store.BackupRow, now time.Time, loc *time.Location) commands.Response {
	if len(rows) == 0 {
		return commands.Text("%s has no backups yet; `/ops backup` makes one", target)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%4s  %-16s  %6s  %9s  %-8s  %s\n", "id", "created (UTC)", "age", "size", "verified", "off-host")
	for _, r := range rows {
		verified := "no"
		switch {
		case r.Status == store.BackupRunning:
			verified = "running"
		case r.Status == store.BackupFailed:
			verified = "failed"
		case r.Verified():
			verified = "yes"
		case r.VerifyError != "":
			verified = "FAILED"
		}
		off := "-"
		if r.Offsite != "" {
			off = textclip.Runes(r.Offsite, 40, textclip.Ellipsis)
		}
		if r.Status == store.BackupFailed {
			off = textclip.Runes(r.Error, 60, textclip.Ellipsis)
		}
		fmt.Fprintf(&b, "%4d  %-22s  %6s  %9s  %-8s  %s\n", r.ID, human.Time(r.CreatedAt.Time, loc), age(now.Sub(r.CreatedAt.Time)), ops.Bytes(r.SizeBytes), verified, off)
	}
	return commands.Response{Message: chat.Message{
		Title:   fmt.Sprintf("Backups of %s", target),
		Code:    strings.TrimRight(b.String(), "\n"),
		Context: "`/ops backup verify <id>` checks one again; `/ops backup restore <id>` puts a verified one back",
	}}
}

// age prints a duration coarsely: 45s, 12m, 5h, 3d.
func age(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}
