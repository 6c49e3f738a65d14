package discord

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/bwmarrin/discordgo"

	"opsbot/chat"
)

var errPermanent = chat.ErrPermanent

// Discord JSON error codes we act on.
const (
	codeUnknownWebhook     = 10015
	codeUnknownChannel     = 10003
	codeUnknownInteraction = 10062
	codeThreadExists       = 160004
	codeEntityTooLarge     = 40005
	codeInvalidForm        = 50035
)

// classify turns a discordgo error into the chat contract: a 429 becomes a
// RetryAfterError with Discord's retry_after, 400/401/403/404 are permanent
// (retrying cannot fix them, and Discord bans clients that pile up invalid
// requests); anything else (5xx, network) is left for the caller to retry.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var rl *discordgo.RateLimitError
	if errors.As(err, &rl) {
		return &chat.RetryAfterError{After: rl.RetryAfter, Err: err}
	}
	if st := statusOf(err); st != 0 {
		switch {
		case st == http.StatusTooManyRequests:
			return &chat.RetryAfterError{After: retryAfterHeader(err), Err: err}
		case st == http.StatusBadRequest || st == http.StatusUnauthorized || st == http.StatusForbidden || st == http.StatusNotFound:
			return chat.Permanent(err)
		}
	}
	return err
}

// statusOf returns the HTTP status of a REST error, or 0.
func statusOf(err error) int {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.StatusCode
	}
	return 0
}

// codeOf returns Discord's JSON error code of a REST error, or 0.
func codeOf(err error) int {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Message != nil {
		return re.Message.Code
	}
	return 0
}

func retryAfterHeader(err error) time.Duration {
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		if f, perr := strconv.ParseFloat(re.Response.Header.Get("Retry-After"), 64); perr == nil && f > 0 {
			return time.Duration(f * float64(time.Second))
		}
	}
	return time.Second
}
