//go:build tools

// Package deps pins modules that packages are about to use, so `go mod tidy`
// keeps them while work is under way.
package deps

import (
	_ "github.com/bwmarrin/discordgo"
	_ "github.com/cenkalti/backoff/v5"
	_ "github.com/chzyer/readline"
	_ "github.com/google/shlex"
	_ "github.com/gorilla/websocket"
	_ "github.com/hashicorp/golang-lru/v2/expirable"
	_ "github.com/klauspost/compress/gzip"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/robfig/cron/v3"
	_ "github.com/shirou/gopsutil/v4/cpu"
	_ "github.com/slack-go/slack"
	_ "github.com/slack-go/slack/socketmode"
	_ "github.com/spf13/cobra"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/time/rate"
	_ "gonum.org/v1/plot"
)
