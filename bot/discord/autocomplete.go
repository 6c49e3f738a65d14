package discord

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"opsbot/config"
)

// Kinds of autocomplete candidates.
const (
	CompleteLog      = "log"
	CompleteTarget   = "target"
	CompleteJob      = "job"
	CompleteIncident = "incident"
	CompleteSilence  = "silence"
	CompleteBackup   = "backup"
)

// completeBudget bounds a source's lookup: Discord drops an autocomplete
// answer later than 3 s, and a stale list beats none.
const completeBudget = 500 * time.Millisecond

// Choice is one autocomplete candidate: Value is what the option gets,
// Label what the user reads ("" = Value).
type Choice struct{ Value, Label string }

// Source lists the candidates of one kind, most relevant first (newest
// incident, …). It is asked on every keystroke, so it must be quick.
type Source func(ctx context.Context) ([]Choice, error)

// WithCompletion sets the source of one kind of candidate (CompleteJob,
// CompleteIncident, …). Log names and targets come from the configuration
// unless set.
func WithCompletion(kind string, src Source) Option {
	return func(a *Adapter) {
		if a.sources == nil {
			a.sources = map[string]Source{}
		}
		a.sources[kind] = src
	}
}

// completion says which candidates an option takes, from its verb and
// name; multi options take a comma-separated list.
func completion(words []string, option string, isFlag bool) (kind string, multi bool) {
	verb := ""
	if len(words) > 0 {
		verb = words[0]
	}
	switch {
	case verb == "logs" && option == "file" && isFlag:
		return CompleteLog, true
	case verb == "logs" && option == "name" && !isFlag:
		return CompleteLog, false
	case option == "target":
		return CompleteTarget, false
	case option == "job" && !isFlag:
		return CompleteJob, false
	case option == "id" && !isFlag:
		switch verb {
		case "incident":
			return CompleteIncident, false
		case "backup":
			return CompleteBackup, false
		case "unsilence":
			return CompleteSilence, false
		}
	}
	return "", false
}

// configSource lists log names or targets from the configuration.
func configSource(cfg func() *config.Config, kind string) Source {
	return func(context.Context) ([]Choice, error) {
		c := cfg()
		var out []Choice
		seen := map[string]bool{}
		// Targets in configuration order; logs of each sorted by name.
		for _, t := range c.Targets {
			if kind == CompleteTarget {
				out = append(out, Choice{Value: t.Name})
				continue
			}
			logs := make([]string, 0, len(t.Logs))
			for l := range t.Logs {
				logs = append(logs, l)
			}
			slices.Sort(logs)
			for _, l := range logs {
				if !seen[l] {
					seen[l] = true
					out = append(out, Choice{Value: l})
				}
			}
		}
		return out, nil
	}
}

func (a *Adapter) source(kind string) Source {
	if s, ok := a.sources[kind]; ok {
		return s
	}
	if kind == CompleteLog || kind == CompleteTarget {
		return configSource(a.cfg, kind)
	}
	return nil
}

// onAutocomplete answers a keystroke in an autocompleted option: the
// candidates filtered by what was typed, ranked, at most 25.
func (a *Adapter) onAutocomplete(in *discordgo.Interaction) *discordgo.InteractionResponse {
	resp := &discordgo.InteractionResponse{Type: discordgo.InteractionApplicationCommandAutocompleteResult,
		Data: &discordgo.InteractionResponseData{Choices: []*discordgo.ApplicationCommandOptionChoice{}}}
	lf, focused := a.commandSpec().focused(in.ApplicationCommandData())
	if lf == nil || focused == nil {
		return resp
	}
	ref := lf.opts[focused.Name]
	src := a.source(ref.complete)
	if src == nil {
		return resp
	}
	ctx, cancel := context.WithTimeout(a.workCtx, completeBudget)
	defer cancel()
	cands, err := src(ctx)
	if err != nil {
		a.log.Debug("discord autocomplete source failed", "kind", ref.complete, "err", err)
		return resp
	}
	typed, _ := focused.Value.(string)
	if f, ok := focused.Value.(float64); ok {
		typed = strconv.FormatFloat(f, 'f', -1, 64)
	}
	// The option's registered type decides (the value typed so far comes
	// as a string).
	kind := ""
	if ref.param >= 0 {
		kind = lf.verb.Params[ref.param].Kind
	} else if ref.flag != nil {
		kind = ref.flag.Kind
	}
	integer := kind == "int"
	for _, c := range rank(cands, typed, ref.multi) {
		ch := &discordgo.ApplicationCommandOptionChoice{Name: cut(firstNonEmpty(c.Label, c.Value), maxChoiceValue), Value: c.Value}
		if integer {
			n, err := strconv.ParseInt(c.Value, 10, 64)
			if err != nil {
				continue
			}
			ch.Value = n
		}
		resp.Data.Choices = append(resp.Data.Choices, ch)
	}
	return resp
}

// rank filters candidates by what was typed (case-insensitive) and orders
// them: exact, then prefix, then substring matches, each in the source's
// order; at most maxChoices, each value at most maxChoiceValue bytes. For a
// comma list, the last item is completed and the earlier ones kept.
func rank(cands []Choice, typed string, multi bool) []Choice {
	done, part := "", typed
	var chosen []string
	if multi {
		if i := strings.LastIndexByte(typed, ','); i >= 0 {
			done, part = typed[:i+1], typed[i+1:]
			for _, w := range strings.Split(typed[:i], ",") {
				chosen = append(chosen, strings.TrimSpace(w))
			}
		}
	}
	part = strings.ToLower(strings.TrimSpace(part))
	var exact, prefix, inner []Choice
	for _, c := range cands {
		if slices.Contains(chosen, c.Value) {
			continue
		}
		switch {
		case part == "" || strings.EqualFold(c.Value, part):
			exact = append(exact, c)
		case hasPrefixFold(c.Value, part) || hasPrefixFold(c.Label, part):
			prefix = append(prefix, c)
		case containsFold(c.Value, part) || containsFold(c.Label, part):
			inner = append(inner, c)
		}
	}
	out := make([]Choice, 0, maxChoices)
	for _, c := range slices.Concat(exact, prefix, inner) {
		if len(out) == maxChoices {
			break
		}
		if multi && done != "" {
			c.Label = done + firstNonEmpty(c.Label, c.Value)
			c.Value = done + c.Value
		}
		if len(c.Value) > maxChoiceValue {
			continue
		}
		out = append(out, c)
	}
	return out
}

// focused finds the leaf of an autocomplete interaction and the option
// being typed.
func (sp *spec) focused(data discordgo.ApplicationCommandInteractionData) (*leaf, *discordgo.ApplicationCommandInteractionDataOption) {
	opts := data.Options
	var path []string
	for len(opts) == 1 && (opts[0].Type == discordgo.ApplicationCommandOptionSubCommand || opts[0].Type == discordgo.ApplicationCommandOptionSubCommandGroup) {
		path = append(path, opts[0].Name)
		opts = opts[0].Options
	}
	lf := sp.leaves[strings.Join(path, " ")]
	if lf == nil {
		lf = sp.findFlattened(path)
	}
	if lf == nil {
		return nil, nil
	}
	for _, o := range opts {
		if o.Focused {
			if _, ok := lf.opts[o.Name]; ok {
				return lf, o
			}
		}
	}
	return nil, nil
}

// autocompleted marks o for autocomplete when its verb and name call for
// it (it then carries no fixed choices), and records the kind in ref.
func autocompleted(o *discordgo.ApplicationCommandOption, words []string, name string, isFlag bool, ref *optRef) {
	kind, multi := completion(words, name, isFlag)
	if kind == "" {
		return
	}
	if o.Type != discordgo.ApplicationCommandOptionString && o.Type != discordgo.ApplicationCommandOptionInteger {
		return
	}
	o.Choices, o.Autocomplete = nil, true
	ref.complete, ref.multi = kind, multi
}

// hasPrefixFold and containsFold compare without case and without a
// copy of each candidate: a keystroke ranks every one.
func hasPrefixFold(s, p string) bool { return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) }

func containsFold(s, p string) bool {
	if !isASCII(p) {
		return strings.Contains(strings.ToLower(s), p)
	}
	for i := 0; i+len(p) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(p)], p) {
			return true
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
