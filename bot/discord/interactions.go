package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"opsbot/bot/inbound"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"opsbot/bot/forms"
	"opsbot/chat"
	"opsbot/commands"
	"opsbot/locale"
)

// Interaction tokens are valid for 15 minutes; work past that cannot be
// reported back.
const tokenLife = 14 * time.Minute

// progressEvery paces progress edits of a deferred answer.
const progressEvery = 2 * time.Second

var (
	errNoSignature  = errors.New("missing signature headers")
	errBadTimestamp = errors.New("bad signature timestamp")
	errBadSignature = errors.New("bad signature")
	errStale        = errors.New("stale signature timestamp")
	errReplay       = errors.New("replayed request")
)

// Handler serves /discord/interactions: Ed25519-verified interactions
// (signature over timestamp + body with DISCORD_PUBLIC_KEY), refused with
// 401 when forged, stale or replayed; PING is answered with PONG.
func (a *Adapter) Handler() http.Handler { return http.HandlerFunc(a.serveInteraction) }

func (a *Adapter) serveInteraction(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, ok := inbound.ReadBody(w, r, a.cfg().HTTP.MaxBodyBytes)
	if !ok {
		return
	}
	if err := a.verify(r, body); err != nil {
		if a.refusals.allow(a.now()) {
			a.log.Warn("discord interaction refused", "reason", err.Error(), "remote", r.RemoteAddr)
		}
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	var in discordgo.Interaction
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, "bad interaction payload", http.StatusBadRequest)
		return
	}
	if in.Type == discordgo.InteractionPing {
		writeJSON(w, &discordgo.InteractionResponse{Type: discordgo.InteractionResponsePong})
		return
	}
	resp, later := a.dispatch(&in)
	writeJSON(w, resp)
	if later != nil {
		// The answer must be on its way before @original can be edited.
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		// ServeHTTP has returned (and the answer is out) when the request
		// context ends.
		done := r.Context().Done()
		if !a.goWork(func() { <-done; later(true) }) {
			later(false)
		}
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// verify checks the signature (discordgo.VerifyInteraction, which has no
// freshness check), then our freshness window and replay cache.
func (a *Adapter) verify(r *http.Request, body []byte) error {
	key, err := a.publicKey()
	if err != nil {
		return err
	}
	sig, ts := r.Header.Get("X-Signature-Ed25519"), r.Header.Get("X-Signature-Timestamp")
	if sig == "" || ts == "" {
		return errNoSignature
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errBadTimestamp
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if !discordgo.VerifyInteraction(r, key) {
		return errBadSignature
	}
	if age := a.now().Sub(time.Unix(sec, 0)); age > a.freshness || age < -a.freshness {
		return errStale
	}
	if a.replay.Seen(strings.ToLower(sig)) {
		return errReplay
	}
	return nil
}

// dispatch answers an interaction. It returns the initial response and,
// when the answer comes later, a function to call once that initial
// response was delivered (true) or could not be (false).
func (a *Adapter) dispatch(in *discordgo.Interaction) (*discordgo.InteractionResponse, func(delivered bool)) {
	switch in.Type {
	case discordgo.InteractionApplicationCommand:
		return a.onCommand(in)
	case discordgo.InteractionMessageComponent:
		return a.onComponent(in)
	case discordgo.InteractionModalSubmit:
		return a.onModal(in)
	case discordgo.InteractionApplicationCommandAutocomplete:
		return a.onAutocomplete(in), nil
	}
	return ephemeral("this kind of interaction is not supported"), nil
}

func ephemeral(text string) *discordgo.InteractionResponse {
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Content: text, Flags: discordgo.MessageFlagsEphemeral,
			AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}}}
}

// baseRequest maps who and where: member (guild) or user (DM), role ids.
func baseRequest(in *discordgo.Interaction) (commands.Request, bool) {
	req := commands.Request{Platform: Platform, Channel: in.ChannelID}
	guild := ""
	if in.GuildLocale != nil {
		guild = string(*in.GuildLocale)
	}
	req.Locale = locale.Discord(string(in.Locale), guild)
	var u *discordgo.User
	nick := ""
	if in.Member != nil {
		u, nick, req.Roles = in.Member.User, in.Member.Nick, in.Member.Roles
	}
	if u == nil {
		u = in.User
	}
	if u == nil || u.ID == "" {
		return req, false
	}
	req.User = u.ID
	req.UserName = firstNonEmpty(nick, u.GlobalName, u.Username)
	return req, true
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func (a *Adapter) onCommand(in *discordgo.Interaction) (*discordgo.InteractionResponse, func(bool)) {
	req, ok := baseRequest(in)
	if !ok {
		return ephemeral("cannot tell who sent this command"), nil
	}
	words, err := a.commandSpec().args(in.ApplicationCommandData())
	if err != nil {
		var ue *commands.UserError
		if errors.As(err, &ue) {
			return ephemeral(ue.Msg), nil
		}
		return ephemeral("cannot read the command"), nil
	}
	return a.runWords(in, req, words)
}

// runWords runs a command given as words (typed, or a submitted form's)
// and answers within the ack deadline, or defers.
func (a *Adapter) runWords(in *discordgo.Interaction, req commands.Request, words []string) (*discordgo.InteractionResponse, func(bool)) {
	req.Args, req.Text = words, commandText(words)
	wait := a.ackDeadline
	// A slow verb is deferred at once, except from a channel outside the
	// allowlist: its refusal is immediate and goes inline, ephemeral, with
	// no public "thinking…" placeholder in that channel.
	if a.reg.IsSlow(req) {
		wait = 0
	}
	// A reply that may quote logs is for the requester alone: deferred, its
	// placeholder is private too, and so is every progress edit of it.
	j := &job{a: a, in: in, private: a.reg.IsPrivate(req), done: make(chan commands.Response, 1)}
	if !a.goWork(func() { j.run(func(ctx context.Context) commands.Response { return a.reg.Handle(ctx, req) }, &req) }) {
		return ephemeral("opsbot is shutting down; try again in a minute"), nil
	}
	return j.settle(wait)
}

func (a *Adapter) onComponent(in *discordgo.Interaction) (*discordgo.InteractionResponse, func(bool)) {
	req, ok := baseRequest(in)
	if !ok {
		return ephemeral("cannot tell who clicked"), nil
	}
	action, value, _ := strings.Cut(in.MessageComponentData().CustomID, ":")
	if action == forms.Button {
		// A form opens at once; its submission runs the command.
		return a.openForm(value), nil
	}
	req.Text = "button " + action
	j := &job{a: a, in: in, component: true, done: make(chan commands.Response, 1)}
	// A confirmed action may be slow: the click is answered at once if the
	// action is quick, else acknowledged and the message edited later.
	if !a.goWork(func() {
		j.run(func(ctx context.Context) commands.Response { return a.reg.Button(ctx, req, action, value) }, &req)
	}) {
		return ephemeral("opsbot is shutting down; try again in a minute"), nil
	}
	return j.settle(a.ackDeadline)
}

// job is one interaction being answered.
type job struct {
	a         *Adapter
	in        *discordgo.Interaction
	component bool
	private   bool // deferred with a private placeholder
	done      chan commands.Response

	mu       sync.Mutex
	sent     bool
	lastProg time.Time
}

func (j *job) run(fn func(ctx context.Context) commands.Response, req *commands.Request) {
	ctx, cancel := context.WithTimeout(j.a.workCtx, tokenLife)
	defer cancel()
	req.Progress = j.progress
	j.done <- fn(ctx)
}

// settle waits up to wait for the answer: in time, it is the initial
// response; late (or with files, which go by edit), the interaction is
// deferred and the answer follows.
func (j *job) settle(wait time.Duration) (*discordgo.InteractionResponse, func(bool)) {
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case resp := <-j.done:
			// Files (the message's own, or long output render moves into
			// one) cannot ride on an inline answer.
			if len(render(resp.Message).Files) == 0 {
				return j.immediate(resp), nil
			}
			j.done <- resp
		case <-t.C:
		}
	}
	typ := discordgo.InteractionResponseDeferredChannelMessageWithSource
	if j.component {
		typ = discordgo.InteractionResponseDeferredMessageUpdate
	} else if j.private {
		return &discordgo.InteractionResponse{Type: typ, Data: &discordgo.InteractionResponseData{Flags: discordgo.MessageFlagsEphemeral}}, j.later
	}
	return &discordgo.InteractionResponse{Type: typ}, j.later
}

func (j *job) immediate(resp commands.Response) *discordgo.InteractionResponse {
	r := render(resp.Message)
	data := &discordgo.InteractionResponseData{Content: r.Content, Embeds: r.Embeds, Components: r.Components, AllowedMentions: r.Mentions}
	if resp.Ephemeral {
		// Refusals go to the one who asked or clicked; a refused click
		// leaves the message and its buttons for others.
		data.Flags = discordgo.MessageFlagsEphemeral
		return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource, Data: data}
	}
	if j.component {
		if data.Components == nil {
			data.Components = []discordgo.MessageComponent{} // drop the buttons
		}
		if data.Embeds == nil {
			data.Embeds = []*discordgo.MessageEmbed{}
		}
		return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseUpdateMessage, Data: data}
	}
	return &discordgo.InteractionResponse{Type: discordgo.InteractionResponseChannelMessageWithSource, Data: data}
}

// later delivers the answer after a deferred initial response.
func (j *job) later(delivered bool) {
	if delivered {
		j.markSent()
	}
	var resp commands.Response
	select {
	case resp = <-j.done:
	case <-j.a.workCtx.Done():
		return
	}
	if !delivered {
		j.a.log.Warn("discord answer dropped: the initial response was not delivered", "interaction", j.in.ID)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(j.a.workCtx), 30*time.Second)
	defer cancel()
	if err := j.deliver(ctx, resp); err != nil {
		j.a.log.Error("discord answer not delivered", "interaction", j.in.ID, "err", err)
		// The placeholder must not stay "thinking" for ever: it says the
		// answer failed instead.
		m := chat.Message{Severity: chat.SevWarning, Text: msgAnswerFailed}
		if ferr := j.editOriginal(ctx, j.a.hookSession(), m); ferr != nil {
			j.a.log.Warn("discord placeholder not replaced", "interaction", j.in.ID, "err", ferr)
		}
	}
}

// markSent is called once the initial response went out, so progress may
// edit it.
func (j *job) markSent() {
	j.mu.Lock()
	j.sent = true
	j.mu.Unlock()
}

func (j *job) deliver(ctx context.Context, resp commands.Response) error {
	s := j.a.hookSession()
	r := render(resp.Message)
	if resp.Ephemeral && !j.component && j.private {
		// The placeholder is private: the answer takes its place.
		return j.editOriginal(ctx, s, resp.Message)
	}
	if resp.Ephemeral {
		if !j.component {
			// The deferred "thinking" message was public; the refusal is not.
			_ = followupCall(ctx, func() error { return s.InteractionResponseDelete(j.in, restOpts(ctx)...) })
		}
		return followupCall(ctx, func() error {
			_, err := s.FollowupMessageCreate(j.in, true, &discordgo.WebhookParams{
				Content: r.Content, Embeds: r.Embeds, Components: r.Components, Files: r.files(),
				AllowedMentions: r.Mentions, Flags: discordgo.MessageFlagsEphemeral,
			}, restOpts(ctx)...)
			return err
		})
	}
	return j.editOriginal(ctx, s, resp.Message)
}

// editOriginal replaces @original with m. Its files are listed in
// attachments (API v10 keeps only what is listed); when they are too large
// or refused, m goes without them and says so.
func (j *job) editOriginal(ctx context.Context, s *discordgo.Session, m chat.Message) error {
	r := render(m)
	if r.uploadSize() > maxUpload {
		r = withoutFiles(m, msgTooLarge)
	}
	err := j.edit(ctx, s, r)
	if err != nil && len(r.Files) > 0 && uploadRefused(err) {
		j.a.log.Warn("discord refused the attachments; answering without them", "interaction", j.in.ID, "err", err)
		err = j.edit(ctx, s, withoutFiles(m, msgRefused))
	}
	return err
}

func (j *job) edit(ctx context.Context, s *discordgo.Session, r rendered) error {
	return followupCall(ctx, func() error {
		comps := r.Components
		if comps == nil {
			comps = []discordgo.MessageComponent{}
		}
		embeds := r.Embeds
		if embeds == nil {
			embeds = []*discordgo.MessageEmbed{}
		}
		content := r.Content
		_, err := s.InteractionResponseEdit(j.in, &discordgo.WebhookEdit{
			Content: &content, Embeds: &embeds, Components: &comps, Files: r.files(),
			Attachments: ptr(r.newAttachments()), AllowedMentions: r.Mentions,
		}, restOpts(ctx)...)
		return err
	})
}

// progress shows progress of long work in the deferred answer, at most
// every progressEvery and never before the initial response went out.
func (j *job) progress(m chat.Message) {
	j.mu.Lock()
	now := j.a.now()
	if !j.sent || (!j.lastProg.IsZero() && now.Sub(j.lastProg) < progressEvery) {
		j.mu.Unlock()
		return
	}
	prev := j.lastProg
	j.lastProg = now
	j.mu.Unlock()
	s := j.a.hookSession()
	if m.Severity == chat.SevNone && m.Title == "" {
		m.Text = "⏳ " + m.Text
	}
	m = j.a.reg.Redactor().Message(m)
	r := render(m)
	ctx, cancel := context.WithTimeout(j.a.workCtx, 10*time.Second)
	defer cancel()
	content := r.Content
	if _, err := s.InteractionResponseEdit(j.in, &discordgo.WebhookEdit{Content: &content, Embeds: &r.Embeds, AllowedMentions: r.Mentions}, restOpts(ctx)...); err != nil {
		j.a.log.Debug("discord progress edit failed", "err", err)
		// Refused (Discord had not processed the deferral yet): the next
		// progress may try again rather than wait out the interval.
		j.mu.Lock()
		if j.lastProg.Equal(now) {
			j.lastProg = prev
		}
		j.mu.Unlock()
	}
}

// followupCall makes a bounded number of attempts at an interaction
// follow-up: Discord may not have processed the initial response yet (404),
// may ask us to wait (429), or fail briefly (5xx).
func followupCall(ctx context.Context, fn func() error) error {
	const attempts = 5
	for i := 0; ; i++ {
		err := fn()
		if err == nil || i == attempts-1 {
			return err
		}
		var wait time.Duration
		var rl *discordgo.RateLimitError
		switch st := statusOf(err); {
		case errors.As(err, &rl):
			wait = min(rl.RetryAfter, 10*time.Second)
		case st == http.StatusNotFound && (codeOf(err) == codeUnknownWebhook || codeOf(err) == codeUnknownInteraction):
			wait = time.Duration(100<<i) * time.Millisecond
		case st >= 500:
			wait = time.Duration(250<<i) * time.Millisecond
		default:
			return err
		}
		if !sleepCtx(ctx, wait) {
			return err
		}
	}
}

func ptr[T any](v T) *T { return &v }

// Strings users read, kept together for translation.
const msgAnswerFailed = "the answer could not be delivered; try again, or see the bot's log"
