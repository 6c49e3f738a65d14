package routing

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"opsbot/config"
)

// benchSetup builds a 50-node tree (root, 7 team routes with 6 children
// each, the last of each with continue), 20 inhibition rules, 200 silences
// (half in force, regexps among them) and 10,000 alerts over 100 targets.
func benchSetup(b *testing.B) (*Tree, []InhibitRule, []Silence, []Firing) {
	var receivers []config.Receiver
	root := config.Route{Receiver: "default", GroupBy: []string{"rule", "target"}}
	receivers = append(receivers, config.Receiver{Name: "default", Channels: []string{"slack:CDEF"}})
	nodes := 1
	for team := 0; team < 7; team++ {
		tr := config.Route{Matchers: []string{fmt.Sprintf(`team="t%d"`, team)}, Receiver: fmt.Sprintf("team%d", team)}
		receivers = append(receivers, config.Receiver{Name: fmt.Sprintf("team%d", team), Channels: []string{fmt.Sprintf("slack:CT%d", team)}})
		nodes++
		for c := 0; c < 6; c++ {
			name := fmt.Sprintf("team%d-%d", team, c)
			receivers = append(receivers, config.Receiver{Name: name, Channels: []string{"slack:C" + name}})
			cr := config.Route{Receiver: name, Continue: c == 5}
			switch c % 3 {
			case 0:
				cr.Matchers = []string{fmt.Sprintf(`severity="critical"`), fmt.Sprintf(`target=~"api-%d.*"`, c)}
			case 1:
				cr.Matchers = []string{fmt.Sprintf(`rule=~"(cpu|mem)_%d"`, c), `env!="staging"`}
			default:
				cr.Matchers = []string{fmt.Sprintf(`kind="threshold"`), fmt.Sprintf(`rule!~"disk_.*"`), fmt.Sprintf(`target="db-%d"`, c)}
			}
			tr.Routes = append(tr.Routes, cr)
			nodes++
		}
		root.Routes = append(root.Routes, tr)
	}
	if nodes != 50 {
		b.Fatalf("%d nodes", nodes)
	}
	cfg := config.Routing{Route: root, Receivers: receivers}
	if p := cfg.Check(); len(p) > 0 {
		b.Fatal(p)
	}
	tree, err := Compile(cfg, nil, Defaults{GroupWait: 30 * time.Second, RepeatInterval: 4 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	irs := config.DefaultInhibitRules()
	for i := len(irs); i < 20; i++ {
		irs = append(irs, config.InhibitRule{
			SourceMatchers: []string{fmt.Sprintf(`rule="dep_%d_down"`, i)},
			TargetMatchers: []string{fmt.Sprintf(`team="t%d"`, i%7), `severity!="critical"`},
			Equal:          []string{"target"},
		})
	}
	rules, err := CompileInhibitRules(irs)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	var ss []Silence
	for i := 0; i < 200; i++ {
		var m Matchers
		switch i % 4 {
		case 0:
			m, _ = ParseMatchers(fmt.Sprintf(`target="api-%d",rule="cpu_%d"`, i%100, i%10))
		case 1:
			m, _ = ParseMatchers(fmt.Sprintf(`target=~"db-%d.*",severity="warning"`, i%100))
		case 2:
			m, _ = ParseMatchers(fmt.Sprintf(`fingerprint="fp-%d"`, i*50))
		default:
			m, _ = ParseMatchers(fmt.Sprintf(`team="t%d",env="staging",rule!~"disk_.*"`, i%7))
		}
		start := now.Add(-time.Hour)
		if i%2 == 1 {
			start = now.Add(time.Hour) // yet to start
		}
		ss = append(ss, Silence{ID: int64(i), Matchers: m, StartsAt: start, EndsAt: start.Add(4 * time.Hour)})
	}
	alerts := make([]Firing, 10000)
	rulesN := []string{"cpu_1", "mem_4", "disk_full", "cpu_0", "latency", "errors_5xx", "dep_7_down", "health_down"}
	sevs := []string{"warning", "critical"}
	envs := []string{"prod", "staging"}
	for i := range alerts {
		target := fmt.Sprintf("api-%d", i%100)
		if i%3 == 0 {
			target = fmt.Sprintf("db-%d", i%100)
		}
		rule := rulesN[i%len(rulesN)]
		kind := "threshold"
		if rule == "health_down" {
			kind = "health"
		}
		alerts[i] = Firing{Fingerprint: fmt.Sprintf("fp-%d", i), Labels: Labels{
			"alertname": rule, "rule": rule, "kind": kind, "severity": sevs[i%2], "target": target,
			"team": fmt.Sprintf("t%d", i%7), "env": envs[i%5/4], "fingerprint": fmt.Sprintf("fp-%d", i)}}
	}
	return tree, rules, ss, alerts
}

// BenchmarkRouteAlerts routes 10,000 alerts through the 50-node tree with
// 20 inhibition rules and 200 silences: silence, inhibit, then route and
// group each alert, as the pipeline's stages do once a batch is loaded.
// Reported: ns per alert.
func BenchmarkRouteAlerts(b *testing.B) {
	tree, rules, ss, alerts := benchSetup(b)
	now := time.Unix(1_800_000_000, 0)
	var silenced, inhibited, routed, dests int
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		silenced, inhibited, routed, dests = 0, 0, 0, 0
		in := NewInhibitor(rules, alerts)
		sset := NewSilenceSet(ss, now)
		groups := map[string]int{}
		for _, a := range alerts {
			if _, ok := sset.SilencedBy(a.Labels); ok {
				silenced++
				continue
			}
			if _, _, ok := in.Inhibited(a.Fingerprint, a.Labels); ok {
				inhibited++
				continue
			}
			routed++
			for _, d := range tree.Destinations(a.Labels) {
				groups[d.Channel+"\x00"+d.Route.GroupKey(a.Labels, a.Fingerprint)]++
				dests++
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(alerts)), "ns/alert")
	// CPU time as well: on a shared machine the wall time counts the
	// waits for a core too.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*len(alerts)), "cpu-ns/alert")
	b.ReportMetric(0, "ns/op")
	if routed == 0 || silenced == 0 || inhibited == 0 {
		b.Fatalf("routed %d, silenced %d, inhibited %d: the set does not exercise every stage", routed, silenced, inhibited)
	}
	b.Logf("per pass: %d silenced, %d inhibited, %d routed to %d destinations", silenced, inhibited, routed, dests)
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
