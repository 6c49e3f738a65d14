// Package capacity holds the `capacity <users> <growth> <months>` verb:
// the seed's capacity formula (ops/plan) as a small table.
package capacity

import (
	"context"
	"fmt"
	"math"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/ops/plan"
	"opsbot/policy"
)

// Verbs returns the capacity verb.
func Verbs() []*commands.Verb {
	return []*commands.Verb{{
		Name:    "capacity",
		Access:  policy.Read,
		Summary: "project users, cores, memory and storage: users × (1+growth)^months",
		Params: []commands.Param{
			{Name: "users", Required: true, Kind: "int", Help: "users today"},
			{Name: "growth", Required: true, Help: "monthly growth, as 0.1 or 10%"},
			{Name: "months", Required: true, Kind: "int", Help: fmt.Sprintf("months ahead (0 to %d)", plan.MaxMonths)},
		},
		Examples: []string{"/ops capacity 5000 10% 12", "/ops capacity 20000 0.05 24"},
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			p, err := plan.Parse(c.Arg(0), c.Arg(1), c.Arg(2))
			if err != nil {
				return commands.Response{}, commands.Errorf("%v", err)
			}
			last := p.Rows[len(p.Rows)-1]
			return commands.Response{Message: chat.Message{
				Title: fmt.Sprintf("Capacity: %d users growing %s a month, %d months ahead", p.Users, plan.Percent(p.Growth), p.Months),
				Text: fmt.Sprintf("in %d months: about %.0f users, %.0f cores, %.0f GB memory, %.0f GB storage",
					last.Month, last.Users, last.Cores, last.MemoryGB, math.Ceil(last.StorageGB-1e-9)),
				Code:    p.Table(),
				Context: "cores = max(2, users/1000), memory GB = max(4, users/500), storage GB = max(20, users × 0.1); the operations guide suggests three backend instances behind nginx when scaling out",
			}}, nil
		},
	}}
}
