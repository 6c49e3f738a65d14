package demo

import (
	"context"

	"opsbot/commands"
	"opsbot/policy"
	"opsbot/standin"
)

// faultHints say which diagnosis finds each fault.
var faultHints = map[standin.Fault]string{
	standin.FaultProcessGone:  "/ops diagnose api-down",
	standin.FaultPortTaken:    "/ops diagnose api-down",
	standin.FaultDBMode:       "/ops diagnose db",
	standin.FaultLLMErrors:    "/ops diagnose llm",
	standin.FaultMemoryGrowth: "/ops diagnose memory (after a minute of samples)",
	standin.FaultDiskFilling:  "/ops diagnose disk (after a minute of samples)",
}

func faultVerb(b *standin.Backend) *commands.Verb {
	choices := []string{"clear"}
	for _, f := range standin.Faults {
		choices = append(choices, string(f))
	}
	return &commands.Verb{
		Name: "fault", Access: policy.Admin, Summary: "inject one of the guide's faults, for diagnose to find (clear undoes them)",
		Params: []commands.Param{{Name: "fault", Required: true, Choices: choices}},
		Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
			if c.Arg(0) == "clear" {
				if err := b.Clear(); err != nil {
					return commands.Response{}, commands.Errorf("%v", err)
				}
				return commands.Text("stand-in faults cleared"), nil
			}
			f := standin.Fault(c.Arg(0))
			if err := b.Inject(f); err != nil {
				return commands.Response{}, commands.Errorf("%v", err)
			}
			return commands.Text("stand-in fault %s injected; try %s", f, faultHints[f]), nil
		},
	}
}
