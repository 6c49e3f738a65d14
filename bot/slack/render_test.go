package slack

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"opsbot/chat"
)

var update = flag.Bool("update", false, "rewrite golden files")

func chatMsg(title, text string) chat.Message { return chat.Message{Title: title, Text: text} }

func longCode() string {
	var b strings.Builder
	for i := range 1200 {
		fmt.Fprintf(&b, "2026-11-26T10:%02d:%02d ERROR LLM API Error: upstream timeout <req %d> & retry\n", i/60%60, i%60, i)
	}
	return b.String()
}

func TestRenderGolden(t *testing.T) {
	cases := map[string]chat.Message{
		"plain": {Text: "pong"},
		"alert_firing": {
			Title: "High response time on api", Severity: chat.SevCritical,
			Text:     "p95 response time is 2.4 s (alert above 2 s) for 5 minutes",
			Fields:   []chat.Field{{Name: "Target", Value: "api", Inline: true}, {Name: "Value", Value: "2400 ms", Inline: true}, {Name: "Runbook", Value: "Check the LLM vendor first, then nginx"}},
			Context:  "alert 42 · threshold · since 10:02 UTC",
			Buttons:  []chat.Button{{ID: "ack", Label: "Acknowledge", Value: "42", Style: chat.StylePrimary}, {ID: "silence", Label: "Silence 1h", Value: "42"}},
			Mentions: []string{"U0ONCALL", "S0SRE"},
			Key:      "outbox-17",
		},
		"alert_resolved": {
			Title: "Resolved: High response time on api", Severity: chat.SevResolved,
			Text:    "p95 back to 310 ms after 14 minutes",
			Context: "alert 42 · resolved 10:16 UTC",
		},
		"confirmation": {
			Title: "Confirm: restart api", Severity: chat.SevWarning,
			Text: "slack:U1 (alice) asked to restart api. Confirm within 5m0s.",
			Buttons: []chat.Button{
				{ID: "confirm", Label: "Confirm restart", Value: "tok123", Style: chat.StyleDanger, Confirm: "Really restart api?"},
				{ID: "cancel", Label: "Cancel", Value: "tok123"},
			},
		},
		"long_code": {
			Title: "logs search \"LLM API Error\"", Text: "1200 matches in app.log",
			Code: longCode(),
		},
		"escaped_text": {Text: "log line says <!channel> & <@U999> <https://evil.example|click>", Severity: chat.SevInfo},
	}
	for name, m := range cases {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(Render(m).wire()); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			path := filepath.Join("testdata", name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from golden:\n%s", path, got)
			}
		})
	}
}

// The rendered message stays within Block Kit's limits however long the input.
func TestRenderLimits(t *testing.T) {
	m := chat.Message{Title: strings.Repeat("T", 400), Severity: chat.SevCritical, Text: strings.Repeat("x", 20000), Code: longCode()}
	for i := range 40 {
		m.Fields = append(m.Fields, chat.Field{Name: fmt.Sprint("f", i), Value: strings.Repeat("v", 3000), Inline: i%3 != 0})
	}
	r := Render(m)
	if n := len(r.Blocks) + len(r.Body); n > maxBlocks {
		t.Fatalf("%d blocks, at most %d allowed", n, maxBlocks)
	}
	b, _ := json.Marshal(r.wire())
	var w struct {
		Blocks []struct {
			Text struct{ Text string } `json:"text"`
		} `json:"blocks"`
		Attachments []struct {
			Blocks []struct {
				Type   string
				Text   struct{ Text string } `json:"text"`
				Fields []struct{ Text string }
			} `json:"blocks"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	if got := len([]rune(w.Blocks[0].Text.Text)); got > maxHeaderChars {
		t.Fatalf("header %d chars", got)
	}
	for _, bl := range w.Attachments[0].Blocks {
		if got := len([]rune(bl.Text.Text)); got > maxSectionChars {
			t.Fatalf("%s block of %d chars", bl.Type, got)
		}
		if len(bl.Fields) > maxFieldsPerSect {
			t.Fatalf("%d fields in one section", len(bl.Fields))
		}
		for _, f := range bl.Fields {
			if got := len([]rune(f.Text)); got > maxFieldChars {
				t.Fatalf("field of %d chars", got)
			}
		}
	}
}

func TestActionIDRoundTrip(t *testing.T) {
	r := Render(chat.Message{Buttons: []chat.Button{{ID: "ack", Value: "1"}, {ID: "ack", Value: "2"}}})
	b, _ := json.Marshal(r.wire())
	s := string(b)
	if !strings.Contains(s, `"action_id":"ack"`) || !strings.Contains(s, `"action_id":"ack#1"`) {
		t.Fatalf("repeated ids not made unique: %s", s)
	}
	if actionID("ack#1") != "ack" || actionID("confirm") != "confirm" {
		t.Fatal("actionID does not undo the suffix")
	}
}
