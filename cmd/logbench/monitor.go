package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"opsbot/config"
	"opsbot/ops/watch"
)

// monitorMode runs one monitor pass over whole logs (as after they were
// appended to), in process: requests per IP of -access and failed logins
// per IP of -security. It prints the counts the awk pipeline prints too.
//
//	logbench monitor -access access.log -security security.log [-cpuprofile f]
func monitorMode(args []string) int {
	fs := flag.NewFlagSet("monitor", flag.ExitOnError)
	access := fs.String("access", "", "nginx_timed access log")
	security := fs.String("security", "", "app_iso security log")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile here")
	_ = fs.Parse(args)
	if *cpuprofile != "" {
		pf, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer pf.Close()
		_ = pprof.StartCPUProfile(pf)
		defer pprof.StopCPUProfile()
	}
	files := map[string]config.LogFile{}
	if *access != "" {
		files[watch.LogAccess] = config.LogFile{Path: *access, Format: "nginx_timed", Timezone: "UTC"}
	}
	if *security != "" {
		files[watch.LogSecurity] = config.LogFile{Path: *security, Format: "app_iso", Timezone: "UTC"}
	}
	m, err := watch.NewMonitor("bench", files, watch.Options{FromStart: true, RequestsPerIP: 1000, LoginFailedPerIP: 1000})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	start := time.Now()
	s, err := m.Pass(context.Background(), time.Now())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("requests %d, addresses over 1000: %d; failed logins %d, addresses over 1000: %d; %s\n",
		s.Requests, len(s.RequestsByIP), s.LoginFailed, len(s.LoginByIP), time.Since(start).Round(time.Millisecond))
	return 0
}
