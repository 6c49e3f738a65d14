package discord_test

import (
	"encoding/json"
	"math"
	"strconv"
	"testing"

	"opsbot/bot/discord/discordfake"
)

// JSON numbers arrive as float64: an integer option beyond ±2^53 cannot
// have arrived exactly, so it is refused with one line, and the verb does
// not run, instead of running with another number.
func TestHugeIntegerOptionIsRefusedNotAltered(t *testing.T) {
	e := newEnv(t, "http")
	tail := func(v any) discordfake.Interaction {
		return e.fake.NewCommand(alice, channel, discordfake.Group("logs", discordfake.Sub("tail",
			discordfake.Str("name", "nginx"), discordfake.Option{Name: "n", Type: 4, Value: v})))
	}
	for _, v := range []any{int64(math.MaxInt64), int64(math.MinInt64), int64(1<<53 + 1), int64(1 << 53), -int64(1 << 53), json.Number("1e300")} {
		_, body := e.deliver(tail(v))
		b, _ := json.Marshal(body)
		if body["type"] != float64(4) || dig(body, "data", "flags") != float64(64) ||
			dig(body, "data", "content") != "option n: number too large; whole numbers must lie between -9007199254740991 and 9007199254740991" {
			t.Errorf("n=%v answered %s, want an ephemeral refusal", v, b)
		}
		if c := e.lastCall(); c != nil {
			t.Fatalf("n=%v ran the verb with %q", v, c.Args)
		}
	}
	_, body := e.deliver(tail(1.5))
	if got := dig(body, "data", "content"); got != "option n: want a whole number, got 1.5" {
		t.Errorf("n=1.5 answered %v", got)
	}
	// The largest exact integers pass through digit for digit.
	for _, v := range []int64{1<<53 - 1, -(1<<53 - 1), 0} {
		_, body = e.deliver(tail(v))
		if c := e.lastCall(); c == nil || c.Arg(1) != strconv.FormatInt(v, 10) {
			b, _ := json.Marshal(body)
			t.Fatalf("n=%d: call %v, answer %s", v, e.lastCall(), b)
		}
	}
}
