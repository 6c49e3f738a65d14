package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"opsbot/config"
	"opsbot/locale"
)

// Main parses the subcommand and flags, loads the configuration and runs
// the app. It returns the process exit code.
func Main(args []string, version string, stdin io.Reader, stdout, stderr io.Writer) int {
	var (
		cfgPath string
		demo    bool
		code    int
	)
	load := func() (*config.Config, error) {
		if cfgPath == "" {
			cfgPath = os.Getenv("OPSBOT_CONFIG")
		}
		cfg, err := config.Load(cfgPath)
		if err != nil {
			var probs config.Problems
			if errors.As(err, &probs) {
				return nil, fmt.Errorf("%s", probs.Error())
			}
			return nil, err
		}
		if demo {
			cfg.Demo = true
		}
		return cfg, nil
	}
	root := &cobra.Command{
		Use:           "opsbot",
		Short:         "Run a web backend from Slack, Discord or a terminal",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			return Serve(signalContext(), cfg, Options{Version: version, Stdout: stdout, Stderr: stderr, ConfigPath: cfgPath})
		},
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&cfgPath, "config", "", "configuration file (default $OPSBOT_CONFIG, else built-in defaults)")
	root.PersistentFlags().BoolVar(&demo, "demo", false, "run against the built-in stand-in of the served backend")

	serve := &cobra.Command{Use: "serve", Short: "run the bot: HTTP listener, chat adapters, scheduler, notifier", Args: cobra.NoArgs, RunE: root.RunE}
	shell := &cobra.Command{
		Use: "shell", Short: "type the same commands in a terminal (or pipe them in)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			interactive := false
			if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
				interactive = true
			}
			return Shell(signalContext(), cfg, Options{Version: version, Stdout: stdout, Stderr: stderr, Stdin: stdin, Interactive: interactive, ConfigPath: cfgPath})
		},
	}
	check := &cobra.Command{
		Use: "check", Short: "validate the configuration and print every problem", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// With the commands known, roles, channel rules, limits and
			// two-person rules naming a verb that does not exist are
			// problems too, reported with the loader's in one list.
			if cfgPath == "" {
				cfgPath = os.Getenv("OPSBOT_CONFIG")
			}
			cfg, err := config.Load(cfgPath)
			var probs config.Problems
			if err != nil && !errors.As(err, &probs) {
				return err
			}
			names, notes, err := CheckPolicy(context.Background(), cfg)
			if err != nil {
				return err
			}
			if probs = append(probs, config.WithLines(cfg.Path, names)...); len(probs) > 0 {
				return fmt.Errorf("%s", probs.Error())
			}
			p := locale.Resolve(cfg.Locale, "", cfg.Display.Timezone)
			fmt.Fprintln(stdout, p.T("config.ok", locale.Args{"Targets": len(cfg.Targets), "Driver": cfg.Store.Driver}))
			for _, n := range notes {
				fmt.Fprintln(stdout, p.T("config.note", locale.Args{"Text": n}))
			}
			return nil
		},
	}
	configCmd := &cobra.Command{Use: "config", Short: "configuration tools"}
	configCmd.AddCommand(check)
	configCmd.AddCommand(configShow(stdout, &cfgPath))
	migrate := &cobra.Command{
		Use: "migrate", Short: "apply the store's migrations", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			return Migrate(signalContext(), cfg, stdout)
		},
	}
	health := &cobra.Command{
		Use: "healthcheck", Short: "exit 0 when the local bot's /healthz says healthy", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			return Healthcheck(cfg.HTTP.Addr, stdout)
		},
	}
	ver := &cobra.Command{
		Use: "version", Short: "print the version", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(stdout, "opsbot %s\n", version)
			return nil
		},
	}
	ctl := &cobra.Command{
		Use: "standin-ctl", Hidden: true, DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			code = standinCtl(args)
			return nil
		},
	}
	agent := &cobra.Command{
		Use: "agent", Short: "run on a host of a fleet: heartbeat, sample, monitor, take this host's actions from the shared queue", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			return Agent(signalContext(), cfg, Options{Version: version, Stdout: stdout, Stderr: stderr, ConfigPath: cfgPath})
		},
	}
	root.AddCommand(serve, shell, configCmd, migrate, health, ver, ctl, agent)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(stderr, "opsbot: "+err.Error())
		return 1
	}
	return code
}

func signalContext() context.Context {
	ctx, _ := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	return ctx
}

// Healthcheck asks the local bot's /healthz.
func Healthcheck(addr string, out io.Writer) error {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + addr + "/healthz")
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Fprint(out, string(body))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s", resp.Status)
	}
	return nil
}
