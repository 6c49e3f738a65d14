package slack

import (
	"context"
	"strings"
	"testing"

	"opsbot/commands"
	"opsbot/policy"
)

func TestCommandTextUndoesSlackEscaping(t *testing.T) {
	for in, want := range map[string]string{
		"status": "status",
		`logs search "a &gt; b &amp;&amp; c &lt;d&gt;"`:               `logs search "a > b && c <d>"`,
		"logs search &amp;lt;":                                        "logs search &lt;",
		"incident lead 7 <@U0ALICE|alice>":                            "incident lead 7 <@U0ALICE|alice>",
		"incident lead 7 <@U0ALICE>":                                  "incident lead 7 <@U0ALICE>",
		"logs search <https://api.example.com/v1|api.example.com/v1>": "logs search api.example.com/v1",
		"logs search <https://example.com/x>":                         "logs search https://example.com/x",
		"incident note 7 see <#C0OPS|ops> and <!here>":                "incident note 7 see #ops and @here",
		"incident note 7 ask <!subteam^S1|@oncall>":                   "incident note 7 ask @oncall",
		"logs search \u201cLLM API Error\u201d":                       `logs search "LLM API Error"`,
		"incident note 7 don\u2019t restart":                          "incident note 7 don\u2019t restart",
	} {
		if got := commandText(in); got != want {
			t.Errorf("commandText(%q) = %q, want %q", in, got, want)
		}
	}
}

// A slash command's words reach the verb as the user typed them, mentions
// kept as ids.
func TestSlashTextReachesTheVerbAsTyped(t *testing.T) {
	e := newEnv(t, nil)
	e.reg.MustRegister(&commands.Verb{Name: "echo", Access: policy.Read, Summary: "echoes its words",
		Params: []commands.Param{{Name: "words", Rest: true}},
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			return commands.Text("%s", c.Arg(0)), nil
		}})
	text := `echo "LLM &amp; API" &lt;b&gt; <https://example.com/x|example.com/x> <@U0ALICE|alice> ` + "\u201ctwo words\u201d"
	got := decode(t, e.signed(CommandsPath, e.slash("UADMIN", text, "r1").Encode()).Body)
	// The answer is escaped again for Slack's mrkdwn on the way out.
	if want := `LLM & API <b> example.com/x <@U0ALICE|alice> two words`; entities.Replace(got["text"].(string)) != want {
		t.Fatalf("the verb got %q, want %q", got["text"], want)
	}
	rows, err := e.store.RecentAudit(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || !strings.HasPrefix(rows[0].Text, `echo "LLM & API" <b>`) {
		t.Fatalf("audit %+v", rows)
	}
}
