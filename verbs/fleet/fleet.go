// Package fleet is the chat face of a fleet of agents: `restart` and
// `update` addressed to name@host (a bare name with several instances
// asks which, or takes --all or --rolling), and `status` with one line
// per host, worst first (`status <host>` drills in). Where no agent
// serves a target, the single-host verbs answer as before.
package fleet

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"opsbot/chat"
	"opsbot/commands"
	"opsbot/config"
	"opsbot/fleet"
	"opsbot/human"
)

// Deps are what the verbs need.
type Deps struct {
	Config func() *config.Config
	Fleet  *fleet.Dispatcher
	// Local are the single-host verbs (restart, update, status) the fleet
	// verbs wrap: they answer for targets no agent serves.
	Local []*commands.Verb
	Now   func() time.Time
}

func (d Deps) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

// Verbs returns restart, update and status for a fleet, each wrapping the
// local verb of the same name.
func Verbs(d Deps) []*commands.Verb {
	var out []*commands.Verb
	for _, l := range d.Local {
		switch l.Name {
		case "restart", "update":
			out = append(out, actionVerb(d, l))
		case "status":
			out = append(out, statusVerb(d, l))
		}
	}
	return out
}

// Address splits name@host.
func Address(s string) (target, host string) {
	t, h, _ := strings.Cut(s, "@")
	return t, h
}

// plan is what a restart or update call means in the fleet.
type plan struct {
	local     bool     // no agent serves it: the single-host verb answers
	target    string   // the target's name
	instances []string // hosts, in order
	rolling   bool
	action    string
}

func (p plan) addresses() []string {
	out := make([]string, len(p.instances))
	for i, h := range p.instances {
		out[i] = p.target + "@" + h
	}
	return out
}

func resolve(ctx context.Context, d Deps, c *commands.Call) (plan, error) {
	action := c.Verb.Name
	if action == "update" && c.Has("rollback") {
		action = "rollback"
	}
	p := plan{action: action, rolling: c.Has("rolling")}
	arg := c.Arg(0)
	target, host := Address(arg)
	if c.Has("rolling") && c.Has("all") {
		return p, commands.Errorf("--rolling and --all exclude each other: --rolling goes one instance at a time, --all all at once")
	}
	hosts, err := d.Fleet.Hosts(ctx)
	if err != nil {
		return p, err
	}
	if target == "" {
		target = commands.DefaultTarget(d.Config(), "")
		if target == "" {
			names := map[string]bool{}
			for _, h := range hosts {
				for _, t := range h.Targets {
					names[t.Name] = true
				}
			}
			if len(names) == 1 {
				for n := range names {
					target = n
				}
			}
		}
		if target == "" {
			return p, commands.Errorf("name the target: %s <name>[@host]", c.Verb.Name)
		}
	}
	p.target = target
	inst := fleet.Instances(hosts, target)
	if host != "" {
		for _, h := range inst {
			if h.Name == host {
				if h.Down(d.now(), d.Config().Fleet.DownAfter) {
					return p, commands.Errorf("%s is down (no heartbeat for %s): its agent cannot take the %s", host, human.Duration(d.now().Sub(h.LastHeartbeat)), action)
				}
				if h.Stopped {
					return p, commands.Errorf("the agent on %s is stopped: it cannot take the %s", host, action)
				}
				p.instances = []string{host}
				return p, nil
			}
		}
		return p, commands.Errorf("no instance %s@%s; %s", target, host, instancesOf(target, inst))
	}
	if len(inst) == 0 {
		if c.Has("rolling") || c.Has("all") {
			return p, commands.Errorf("no agent serves %s: --rolling and --all need instances on hosts", target)
		}
		p.local = true
		return p, nil
	}
	if len(inst) > 1 && !c.Has("all") && !c.Has("rolling") {
		return p, commands.Errorf("%s runs on %d hosts (%s): name one as %s@%s, or add --rolling (one at a time) or --all (all at once)",
			target, len(inst), strings.Join(hostNames(inst), ", "), target, inst[0].Name)
	}
	for _, h := range inst {
		if h.Down(d.now(), d.Config().Fleet.DownAfter) || h.Stopped {
			return p, commands.Errorf("%s@%s is down: bring its agent back or name the instances one by one", target, h.Name)
		}
		p.instances = append(p.instances, h.Name)
	}
	return p, nil
}

func hostNames(hs []fleet.Host) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Name
	}
	return out
}

func instancesOf(target string, inst []fleet.Host) string {
	if len(inst) == 0 {
		return "no host serves " + target
	}
	return target + " runs on " + strings.Join(hostNames(inst), ", ")
}

func actionVerb(d Deps, local *commands.Verb) *commands.Verb {
	v := *local
	v.Flags = append(append([]commands.Flag(nil), local.Flags...),
		commands.Flag{Name: "rolling", Bool: true, Help: "one instance at a time, waiting for its health; stops at the first that does not come back"},
		commands.Flag{Name: "all", Bool: true, Help: "every instance at once"})
	v.Params = []commands.Param{{Name: "target", Help: "name@host, or a name (every instance: with --rolling or --all)"}}
	v.Examples = []string{"/ops " + local.Name + " api@web-2", "/ops " + local.Name + " api --rolling"}
	v.Target = func(c *commands.Call) string {
		t, _ := Address(c.Arg(0))
		return commands.DefaultTarget(d.Config(), t)
	}
	v.Describe = func(c *commands.Call) string {
		s := local.Describe(c)
		switch {
		case c.Has("rolling"):
			s += ", rolling, one instance at a time"
		case c.Has("all"):
			s += ", every instance at once"
		}
		return s
	}
	v.Check = func(ctx context.Context, c *commands.Call) error {
		p, err := resolve(ctx, d, c)
		if err != nil {
			return err
		}
		if p.local && local.Check != nil {
			return local.Check(ctx, c)
		}
		return nil
	}
	v.Run = func(ctx context.Context, c *commands.Call) (commands.Response, error) {
		p, err := resolve(ctx, d, c)
		if err != nil {
			return commands.Response{}, err
		}
		if p.local {
			return local.Run(ctx, c)
		}
		if p.rolling {
			return rolling(ctx, d, c, p), nil
		}
		return atOnce(ctx, d, c, p), nil
	}
	return &v
}

// waitFor bounds the wait for one action's result.
const waitFor = 30 * time.Minute

func runOne(ctx context.Context, d Deps, c *commands.Call, p plan, host string) fleet.Result {
	ctx, cancel := context.WithTimeout(ctx, waitFor)
	defer cancel()
	id, err := d.Fleet.Dispatch(ctx, host, p.target, p.action, c.Actor())
	if err != nil {
		return fleet.Result{Host: host, Target: p.target, Action: p.action, Outcome: fleet.OutcomeNotRun, Text: err.Error()}
	}
	c.Progress("%s %s@%s: queued for the agent on %s (job %d)…", p.action, p.target, host, host, id)
	res, err := d.Fleet.Wait(ctx, id, fleet.ActionArgs{Host: host, Target: p.target, Action: p.action, By: c.Actor()})
	if err != nil {
		res.Outcome, res.Text = fleet.OutcomeNotRun, fmt.Sprintf("%s of %s@%s: no result: %v", p.action, p.target, host, err)
	}
	return res
}

// atOnce runs the action on every instance of the plan at the same time.
func atOnce(ctx context.Context, d Deps, c *commands.Call, p plan) commands.Response {
	results := make([]fleet.Result, len(p.instances))
	var wg sync.WaitGroup
	for i, h := range p.instances {
		wg.Go(func() { results[i] = runOne(ctx, d, c, p, h) })
	}
	wg.Wait()
	if len(results) == 1 {
		return commands.Response{Message: render(results[0])}
	}
	ok := 0
	var lines []string
	for _, r := range results {
		if r.OK() {
			ok++
		}
		lines = append(lines, line(r))
	}
	sev := chat.SevOK
	if ok < len(results) {
		sev = chat.SevCritical
	}
	return commands.Response{Message: chat.Message{Title: fmt.Sprintf("%s %s on %d instances: %d healthy", p.action, p.target, len(results), ok),
		Severity: sev, Text: strings.Join(lines, "\n")}}
}

// rolling runs the action on max_unavailable instances at a time, each
// batch only after the previous came back healthy; the first that does
// not come back stops it, and the rest are left untouched.
func rolling(ctx context.Context, d Deps, c *commands.Call, p plan) commands.Response {
	step := max(d.Config().Fleet.MaxUnavailable, 1)
	var lines []string
	say := func(format string, args ...any) {
		l := fmt.Sprintf(format, args...)
		lines = append(lines, l)
		c.Progress("%s", l)
	}
	say("rolling %s of %s over %d instances (%s), %d at a time", p.action, p.target, len(p.instances), strings.Join(p.instances, ", "), step)
	done := 0
	for i := 0; i < len(p.instances); i += step {
		batch := p.instances[i:min(i+step, len(p.instances))]
		results := make([]fleet.Result, len(batch))
		var wg sync.WaitGroup
		for k, h := range batch {
			wg.Go(func() { results[k] = runOne(ctx, d, c, p, h) })
		}
		wg.Wait()
		var failed []fleet.Result
		for _, r := range results {
			say("%d/%d %s", done+1, len(p.instances), line(r))
			done++
			if !r.OK() {
				failed = append(failed, r)
			}
		}
		if len(failed) > 0 {
			rest := p.instances[i+len(batch):]
			msg := fmt.Sprintf("stopped: %s did not come back", failed[0].Instance())
			if len(rest) > 0 {
				msg += "; left untouched: " + strings.Join(addresses(p.target, rest), ", ")
			}
			say("%s", msg)
			return commands.Response{Message: chat.Message{Title: fmt.Sprintf("rolling %s of %s stopped at %s", p.action, p.target, failed[0].Instance()),
				Severity: chat.SevCritical, Text: strings.Join(lines, "\n")}}
		}
		if ctx.Err() != nil {
			say("stopped: %v", ctx.Err())
			return commands.Response{Message: chat.Message{Title: "rolling " + p.action + " interrupted", Severity: chat.SevWarning, Text: strings.Join(lines, "\n")}}
		}
	}
	return commands.Response{Message: chat.Message{Title: fmt.Sprintf("rolling %s of %s: all %d instances healthy", p.action, p.target, len(p.instances)),
		Severity: chat.SevOK, Text: strings.Join(lines, "\n")}}
}

func addresses(target string, hosts []string) []string {
	out := make([]string, len(hosts))
	for i, h := range hosts {
		out[i] = target + "@" + h
	}
	return out
}

// line is one result in a line.
func line(r fleet.Result) string {
	switch r.Outcome {
	case fleet.OutcomeOK:
		return fmt.Sprintf("%s healthy (%s after the command, %s in all)", r.Instance(), human.Duration(ms(r.HealthMS)), human.Duration(ms(r.TookMS)))
	default:
		return r.Outcome + ": " + r.Text
	}
}

func ms(v int64) time.Duration { return time.Duration(v) * time.Millisecond }

// render is one instance's result: outcome, exit status, time to healthy,
// output tail.
func render(r fleet.Result) chat.Message {
	sev := chat.SevCritical
	title := r.Action + " " + r.Instance() + ": " + r.Outcome
	switch r.Outcome {
	case fleet.OutcomeOK:
		sev, title = chat.SevOK, r.Action+" "+r.Instance()+": healthy"
	case fleet.OutcomeRefused, fleet.OutcomeBusy, fleet.OutcomeNotRun:
		sev = chat.SevWarning
	}
	exit := "-"
	if r.Exit >= 0 {
		exit = fmt.Sprint(r.Exit)
	}
	m := chat.Message{Title: title, Severity: sev, Text: r.Text,
		Fields: []chat.Field{
			{Name: "Instance", Value: r.Instance(), Inline: true},
			{Name: "Action", Value: r.Action, Inline: true},
			{Name: "Exit code", Value: exit, Inline: true},
			{Name: "Healthy", Value: map[bool]string{true: "yes", false: "no"}[r.Healthy], Inline: true},
			{Name: "Took", Value: human.Duration(ms(r.TookMS)), Inline: true},
		},
		Code: strings.TrimRight(r.Output, "\n")}
	if r.JobID > 0 {
		m.Context = fmt.Sprintf("job %d", r.JobID)
	}
	return m
}

// statusVerb: one line per host, worst first, when the fleet has more
// than one host; `status <host>` drills in; anything else is the local
// status.
func statusVerb(d Deps, local *commands.Verb) *commands.Verb {
	v := *local
	v.Params = []commands.Param{{Name: "target", Help: "a host of the fleet, or a target (default: the fleet, or every target)"}}
	v.Examples = append(append([]string(nil), local.Examples...), "/ops status web-2")
	v.Run = func(ctx context.Context, c *commands.Call) (commands.Response, error) {
		hosts, err := d.Fleet.Hosts(ctx)
		if err != nil {
			return commands.Response{}, err
		}
		arg := c.Arg(0)
		if arg != "" {
			for _, h := range hosts {
				if h.Name == arg {
					return commands.Response{Message: drill(d, h)}, nil
				}
			}
			if _, ok := d.Config().Target(arg); !ok && len(hosts) > 0 {
				return commands.Response{}, commands.Errorf("unknown host or target %q (hosts: %s)", arg, strings.Join(hostNames(hosts), ", "))
			}
			return local.Run(ctx, c)
		}
		if len(hosts) < 2 {
			return local.Run(ctx, c)
		}
		return commands.Response{Message: overview(d, hosts)}, nil
	}
	return &v
}

type hostLine struct {
	h          fleet.Host
	state, why string
}

func states(d Deps, hosts []fleet.Host) []hostLine {
	cfg := d.Config()
	now := d.now()
	out := make([]hostLine, len(hosts))
	for i, h := range hosts {
		st, why := h.State(now, cfg.Fleet.DownAfter, cfg.Thresholds)
		out[i] = hostLine{h, st, why}
	}
	rank := map[string]int{fleet.StateDown: 0, fleet.StateDegraded: 1, fleet.StateStopped: 2, fleet.StateHealthy: 3}
	sort.SliceStable(out, func(i, j int) bool {
		if rank[out[i].state] != rank[out[j].state] {
			return rank[out[i].state] < rank[out[j].state]
		}
		return out[i].h.Name < out[j].h.Name
	})
	return out
}

var stateIcon = map[string]string{fleet.StateDown: "🔴", fleet.StateDegraded: "🟠", fleet.StateStopped: "⚪", fleet.StateHealthy: "🟢"}

func overview(d Deps, hosts []fleet.Host) chat.Message {
	now := d.now()
	ls := states(d, hosts)
	count := map[string]int{}
	var lines []string
	for _, l := range ls {
		count[l.state]++
		s := fmt.Sprintf("%s %s %s — heartbeat %s ago", stateIcon[l.state], l.h.Name, l.state, human.Duration(now.Sub(l.h.LastHeartbeat).Round(time.Second)))
		if l.state != fleet.StateDown {
			s += fmt.Sprintf("; cpu %.0f %%, mem %.0f %%, disk %.0f %%", l.h.Metrics.CPU, l.h.Metrics.Mem, l.h.Metrics.Disk)
		}
		if l.why != "" {
			s += " — " + l.why
		}
		lines = append(lines, s)
	}
	sev := chat.SevOK
	switch {
	case count[fleet.StateDown] > 0:
		sev = chat.SevCritical
	case count[fleet.StateDegraded] > 0:
		sev = chat.SevWarning
	}
	title := fmt.Sprintf("fleet: %d hosts, %d healthy", len(hosts), count[fleet.StateHealthy])
	if n := count[fleet.StateDown]; n > 0 {
		title += fmt.Sprintf(", %d down", n)
	}
	if n := count[fleet.StateDegraded]; n > 0 {
		title += fmt.Sprintf(", %d degraded", n)
	}
	return chat.Message{Title: title, Severity: sev, Text: strings.Join(lines, "\n"), Context: "/ops status <host> for one host"}
}

func drill(d Deps, h fleet.Host) chat.Message {
	now := d.now()
	l := states(d, []fleet.Host{h})[0]
	sev := map[string]chat.Severity{fleet.StateDown: chat.SevCritical, fleet.StateDegraded: chat.SevWarning, fleet.StateStopped: chat.SevInfo, fleet.StateHealthy: chat.SevOK}[l.state]
	lines := []string{fmt.Sprintf("%s %s — heartbeat %s ago (every %s)", stateIcon[l.state], l.state, human.Duration(now.Sub(h.LastHeartbeat).Round(time.Second)), h.Every)}
	if l.why != "" {
		lines = append(lines, "why: "+l.why)
	}
	lines = append(lines, fmt.Sprintf("cpu %.1f %%, memory %.1f %%, disk %.1f %%", h.Metrics.CPU, h.Metrics.Mem, h.Metrics.Disk))
	for _, t := range h.Targets {
		th, ok := h.Metrics.Targets[t.Name]
		health := "not sampled yet"
		if ok && th.Healthy {
			health = fmt.Sprintf("healthy (%d ms)", th.MS)
		} else if ok {
			health = "UNHEALTHY: " + th.Err
		}
		acts := "none"
		if len(t.Actions) > 0 {
			acts = strings.Join(t.Actions, ", ")
		}
		lines = append(lines, fmt.Sprintf("%s@%s: %s; allowed actions: %s", t.Name, h.Name, health, acts))
	}
	var labels []string
	for k, v := range h.Labels {
		labels = append(labels, k+"="+v)
	}
	sort.Strings(labels)
	ctx := fmt.Sprintf("version %s, agent up since %s", h.Version, h.StartedAt.UTC().Format(time.RFC3339))
	if len(labels) > 0 {
		ctx += ", labels " + strings.Join(labels, " ")
	}
	return chat.Message{Title: "host " + h.Name + ": " + l.state, Severity: sev, Text: strings.Join(lines, "\n"), Context: ctx}
}
