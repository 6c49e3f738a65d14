package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"opsbot/bot/inbound"
	"time"

	"github.com/slack-go/slack"

	"opsbot/bot/forms"
	"opsbot/chat"
	"opsbot/commands"
)

// maxCommandBytes is the longest command text Slack sends (4,096 bytes).
const maxCommandBytes = 4096

// msgCommandTooLong refuses an over-long command (a string users read).
const msgCommandTooLong = "command too long: %d bytes, at most %d"

// Paths served by Handler.
const (
	CommandsPath     = "/slack/commands"
	InteractionsPath = "/slack/interactions"
)

// Handler serves Slack's slash commands and interactivity requests. Every
// request must carry a valid, fresh, unseen signature; else 401.
func (a *Adapter) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+CommandsPath, a.serveCommand)
	mux.HandleFunc("POST "+InteractionsPath, a.serveInteraction)
	return mux
}

// readVerified reads the body once under a size limit, checks its
// signature and puts it back for slack-go's parsers, which consume it.
func (a *Adapter) readVerified(w http.ResponseWriter, r *http.Request) bool {
	body, ok := inbound.ReadBody(w, r, a.cfg().HTTP.MaxBodyBytes)
	if !ok {
		return false
	}
	if err := a.verify.check(r.Header, body); err != nil {
		a.log.Warn("slack request refused", "path", r.URL.Path, "remote", r.RemoteAddr, "reason", err)
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return true
}

func (a *Adapter) serveCommand(w http.ResponseWriter, r *http.Request) {
	if !a.readVerified(w, r) {
		return
	}
	sc, err := slack.SlashCommandParse(r)
	if err != nil {
		http.Error(w, "bad slash command form", http.StatusBadRequest)
		return
	}
	msg, _ := a.command(sc, 0)
	writeJSON(w, msg)
}

func (a *Adapter) serveInteraction(w http.ResponseWriter, r *http.Request) {
	if !a.readVerified(w, r) {
		return
	}
	ic, err := slack.InteractionCallbackParse(r)
	if err != nil {
		http.Error(w, "bad interaction payload", http.StatusBadRequest)
		return
	}
	if ic.Type == slack.InteractionTypeViewSubmission {
		if ack := a.submitForm(ic); ack != nil {
			writeJSON(w, ack)
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	// Clicks are acknowledged at once; the result replaces the message
	// through response_url.
	w.WriteHeader(http.StatusOK)
	a.interaction(ic)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		// The client went away; nothing to tell it.
		return
	}
}

func slashRequest(sc slack.SlashCommand) commands.Request {
	return commands.Request{Platform: "slack", User: sc.UserID, UserName: sc.UserName, Channel: sc.ChannelID, Text: commandText(sc.Text)}
}

// command runs a slash command and returns the immediate answer. Slow verbs
// answer "working…" and deliver the result through response_url; a fast
// verb that overruns the budget, whose answer has files, or whose answer is
// maxInline bytes or more (Socket Mode's ack limit; 0 = no limit), does the
// same. inline is false when the answer will come later.
func (a *Adapter) command(sc slack.SlashCommand, maxInline int) (msg wireMessage, inline bool) {
	if len(sc.Text) > maxCommandBytes {
		// Refused before anything runs or is posted.
		return wireMessage{ResponseType: slack.ResponseTypeEphemeral, Text: fmt.Sprintf(msgCommandTooLong, len(sc.Text), maxCommandBytes)}, true
	}
	req := slashRequest(sc)
	t := a.newTarget(sc.ResponseURL, sc.ChannelID, sc.UserID)
	if value, ok := formFor(req.Text); ok && sc.TriggerID != "" {
		// Typed without its arguments: the form asks for them.
		a.background(func(ctx context.Context) {
			if err := a.openForm(ctx, sc.TriggerID, value, sc.ChannelID); err != nil {
				a.log.Warn("slack form not opened", "form", value, "err", err)
				t.answer(ctx, commands.Response{Message: chat.Message{Text: err.Error()}, Ephemeral: true}, true)
			}
		})
		return wireMessage{ResponseType: slack.ResponseTypeEphemeral, Text: msgFormOpened}, true
	}
	if a.reg.IsSlow(req) {
		req.Progress = t.progress
		a.background(func(ctx context.Context) { t.answer(ctx, a.reg.Handle(ctx, req), true) })
		return working(req.Text), false
	}
	done := make(chan commands.Response, 1)
	a.background(func(ctx context.Context) { done <- a.reg.Handle(ctx, req) })
	timer := time.NewTimer(a.fastBudget)
	defer timer.Stop()
	select {
	case resp := <-done:
		resp = longToFile(resp)
		if len(resp.Files) > 0 {
			// An inline answer carries no files: answer later, then upload
			// (a private answer's to the user's direct message).
			a.background(func(ctx context.Context) { t.answer(ctx, resp, true) })
			return working(req.Text), false
		}
		resp = privateFiles(resp)
		w := Render(resp.Message).wire()
		w.ResponseType = responseType(resp)
		if maxInline > 0 {
			if b, err := json.Marshal(w); err != nil || len(b) >= maxInline {
				a.background(func(ctx context.Context) { t.answer(ctx, resp, true) })
				return working(req.Text), false
			}
		}
		return w, true
	case <-timer.C:
		a.background(func(ctx context.Context) {
			select {
			case resp := <-done:
				t.answer(ctx, resp, true)
			case <-ctx.Done():
			}
		})
		return working(req.Text), false
	}
}

// interaction handles a button click in the background: the registry
// decides (confirm once, refuse double clicks, expiry, missing roles); a
// refusal is shown to the clicker alone and leaves the message as it was,
// so someone allowed can still confirm; anything else replaces it.
func (a *Adapter) interaction(ic slack.InteractionCallback) {
	if ic.Type != slack.InteractionTypeBlockActions || len(ic.ActionCallback.BlockActions) == 0 {
		return
	}
	act := ic.ActionCallback.BlockActions[0]
	channel := ic.Channel.ID
	if channel == "" {
		channel = ic.Container.ChannelID
	}
	if actionID(act.ActionID) == forms.Button {
		// A form opens at once (the trigger lasts 3 s).
		a.background(func(ctx context.Context) {
			if err := a.openForm(ctx, ic.TriggerID, act.Value, channel); err != nil {
				a.log.Warn("slack form not opened", "form", act.Value, "err", err)
			}
		})
		return
	}
	name := ic.User.Name
	if name == "" {
		name = ic.User.Username
	}
	req := commands.Request{Platform: "slack", User: ic.User.ID, UserName: name, Channel: channel, Text: "button " + actionID(act.ActionID)}
	t := a.newTarget(ic.ResponseURL, channel, ic.User.ID)
	t.click = true
	req.Progress = t.progress
	if ic.Container.MessageTs != "" {
		t.message.Platform, t.message.Channel, t.message.ID = "slack", channel, ic.Container.MessageTs
	}
	a.background(func(ctx context.Context) {
		resp := a.reg.Button(ctx, req, actionID(act.ActionID), act.Value)
		if resp.Ephemeral {
			t.answer(ctx, resp, false)
			return
		}
		t.replace(ctx, resp)
	})
}
