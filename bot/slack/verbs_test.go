package slack

import (
	"context"

	"opsbot/commands"
	"opsbot/policy"
)

type commandsVerbBlocking struct{ block chan struct{} }

func (v *commandsVerbBlocking) verb() *commands.Verb {
	return &commands.Verb{Name: "hang", Access: policy.Read, Summary: "fast verb that overruns", Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
		<-v.block
		return commands.Text("done at last"), nil
	}}
}

type chattyVerb struct{}

func (chattyVerb) verb() *commands.Verb {
	return &commands.Verb{Name: "chatty", Access: policy.Read, Slow: true, Run: func(ctx context.Context, c *commands.Call) (commands.Response, error) {
		for i := range 10 {
			c.Progress("step %d", i)
		}
		return commands.Text("finished"), nil
	}}
}
