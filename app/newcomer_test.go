package app

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"opsbot/bot/console"
)

var updateGolden = flag.Bool("update", false, "rewrite golden transcripts")

// A newcomer's first minutes in the shell, with the common mistakes: each
// reply is checked against a transcript reviewed for wording.
func TestNewcomerTranscript(t *testing.T) {
	reg := registry(t)
	script := strings.Join([]string{
		"stauts",
		"STATUS nosuch",
		"backup restor 1",
		"backup lsit",
		"logs tail 5 error",
		"logs tial error",
		"silence 2h target=api deploying",
		"incident stage handling 7",
		"incident stage 7 triage",
		"incident open db slow --sev sev3",
		"incident post-mortem",
		"schedule run bakup",
		"unsilence",
		"help ack",
		"cache flush",
		"restart --bogus",
		"whoami --yes",
	}, "\n") + "\n"
	var out bytes.Buffer
	sh := &console.Shell{Registry: reg, Poster: console.NewPoster(&out), In: strings.NewReader(script), User: "newcomer"}
	if err := sh.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Echo each command before its reply, as a person reads the session.
	got := transcript(script, out.String())
	path := filepath.Join("testdata", "newcomer.txt")
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("transcript differs from %s (run with -update after reviewing):\n%s", path, got)
	}
}

// transcript is the shell's output with the script above it.
func transcript(script, out string) string {
	return "# typed\n" + script + "\n# answered\n" + out
}
