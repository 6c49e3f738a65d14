// Command opsbot runs a web backend from Slack, Discord or a terminal.
package main

import (
	"os"

	"opsbot/app"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() { os.Exit(run()) }

func run() int { return app.Main(os.Args[1:], version, os.Stdin, os.Stdout, os.Stderr) }
