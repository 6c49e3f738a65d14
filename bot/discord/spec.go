package discord

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/bwmarrin/discordgo"

	"opsbot/commands"
	"opsbot/locale"
	"opsbot/textclip"
)

// Discord's limits on command definitions.
const (
	maxOptions     = 25
	maxChoices     = 25
	maxNameLen     = 32
	maxDescLen     = 100
	runSubcommand  = "run"
	runOptionName  = "command"
	maxChoiceValue = 100
)

// spec is /ops as registered on Discord, plus the way back from an
// interaction's options to the registry's words.
type spec struct {
	cmd    *discordgo.ApplicationCommand
	leaves map[string]*leaf // by Discord path: "logs search"
	// run is set when verbs did not fit in Discord's 25 subcommands:
	// "/ops run command:<text>" reaches the rest.
	run bool
}

// leaf is one Discord subcommand and the verb path it stands for.
type leaf struct {
	words []string
	verb  *commands.Verb
	opts  map[string]optRef
}

// optRef ties a Discord option to a positional parameter or a flag.
type optRef struct {
	param int // index in verb.Params, or -1
	flag  *commands.Flag
	// complete names the candidates offered as it is typed ("" = none);
	// multi: a comma-separated list.
	complete string
	multi    bool
}

// commandSpec builds the spec from the registry, again only when the set of
// verbs changed.
func (a *Adapter) commandSpec() *spec {
	verbs := a.reg.Verbs()
	key := strings.Join(a.reg.Names(), ",")
	a.specMu.Lock()
	defer a.specMu.Unlock()
	if a.spec == nil || a.specKey != key {
		a.spec, a.specKey = buildSpec(verbs), key
	}
	return a.spec
}

func buildSpec(verbs []*commands.Verb) *spec {
	sp := &spec{leaves: map[string]*leaf{}}
	cmd := &discordgo.ApplicationCommand{
		Type:        discordgo.ChatApplicationCommand,
		Name:        CommandName,
		Description: "Run opsbot commands",
	}
	if l := zhDesc("discord.command"); l != nil {
		cmd.DescriptionLocalizations = &l
	}
	if len(verbs) > maxOptions {
		sp.run = true
		verbs = verbs[:maxOptions-1]
	}
	for _, v := range verbs {
		name := optName(v.Name)
		if len(v.Subs) == 0 {
			cmd.Options = append(cmd.Options, sp.subcommand(name, v, []string{v.Name}))
			continue
		}
		group := &discordgo.ApplicationCommandOption{
			Type:        discordgo.ApplicationCommandOptionSubCommandGroup,
			Name:        name,
			Description: desc(v.Summary, v.Name),
		}
		group.DescriptionLocalizations = zhDesc(verbKey([]string{v.Name}))
		var add func(prefix string, words []string, subs []*commands.Verb)
		add = func(prefix string, words []string, subs []*commands.Verb) {
			for _, s := range subs {
				w := append(append([]string(nil), words...), s.Name)
				// Discord nests only two levels below the command: deeper
				// verbs are flattened as "sub-subsub".
				n := optName(prefix + s.Name)
				if len(s.Subs) > 0 {
					add(n+"-", w, s.Subs)
					continue
				}
				if len(group.Options) < maxOptions {
					group.Options = append(group.Options, sp.subcommand(n, s, w))
				}
			}
		}
		add("", []string{v.Name}, v.Subs)
		if len(group.Options) > 0 {
			cmd.Options = append(cmd.Options, group)
		}
	}
	if sp.run {
		cmd.Options = append(cmd.Options, &discordgo.ApplicationCommandOption{
			Type:                     discordgo.ApplicationCommandOptionSubCommand,
			Name:                     runSubcommand,
			Description:              "Run any opsbot command typed as text",
			DescriptionLocalizations: zhDesc("discord.run"),
			Options: []*discordgo.ApplicationCommandOption{{
				Type: discordgo.ApplicationCommandOptionString, Name: runOptionName,
				Description: "the command, e.g. logs search \"error\" --file app", Required: true,
				DescriptionLocalizations: zhDesc("discord.run_option"),
			}},
		})
	}
	sp.cmd = cmd
	return sp
}

// subcommand makes a subcommand with typed options for v's params and
// flags, and records how to turn them back into words.
func (sp *spec) subcommand(name string, v *commands.Verb, words []string) *discordgo.ApplicationCommandOption {
	lf := &leaf{words: words, verb: v, opts: map[string]optRef{}}
	key := pathKey(words)
	sp.leaves[key] = lf
	var required, optional []*discordgo.ApplicationCommandOption
	unique := func(n string) string {
		base := n
		for i := 2; ; i++ {
			if _, dup := lf.opts[n]; !dup {
				return n
			}
			n = optName(base + strconv.Itoa(i))
		}
	}
	for i, p := range v.Params {
		n := unique(optName(p.Name))
		o := typedOption(n, desc(p.Help, p.Name), p.Kind, p.Choices)
		o.DescriptionLocalizations = zhDesc(verbBase(words) + ".param." + p.Name)
		o.Required = p.Required
		ref := optRef{param: i}
		autocompleted(o, words, n, false, &ref)
		lf.opts[n] = ref
		if p.Required {
			required = append(required, o)
		} else {
			optional = append(optional, o)
		}
	}
	for i := range v.Flags {
		f := &v.Flags[i]
		n := unique(optName(f.Name))
		var o *discordgo.ApplicationCommandOption
		if f.Bool {
			o = &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionBoolean, Name: n, Description: desc(f.Help, f.Name)}
		} else {
			choices := f.Choices
			if len(choices) == 0 {
				// Offered as Discord choices: one pick there; text platforms
				// may still give a list.
				choices = f.Suggest
			}
			o = typedOption(n, desc(f.Help, f.Name), f.Kind, choices)
		}
		o.DescriptionLocalizations = zhDesc(verbBase(words) + ".flag." + f.Name)
		ref := optRef{param: -1, flag: f}
		// A list of log names is free text, completed item by item.
		autocompleted(o, words, n, true, &ref)
		lf.opts[n] = ref
		optional = append(optional, o)
	}
	// Discord wants required options first.
	opts := append(required, optional...)
	if len(opts) > maxOptions {
		opts = opts[:maxOptions]
	}
	return &discordgo.ApplicationCommandOption{
		Type:        discordgo.ApplicationCommandOptionSubCommand,
		Name:        name,
		Description: desc(v.Summary, strings.Join(words, " ")),
		Options:     opts,
		// Names stay ASCII (they are what people type); descriptions are
		// shown in the user's client language where the catalog has it.
		DescriptionLocalizations: zhDesc(verbKey(words)),
	}
}

func typedOption(name, description, kind string, choices []string) *discordgo.ApplicationCommandOption {
	o := &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: name, Description: description}
	if kind == "user" {
		// A member picker: the value is a user id, handed on as a mention.
		o.Type = discordgo.ApplicationCommandOptionUser
		return o
	}
	if kind == "channel" {
		// A channel picker of text channels: handed on as <#id>.
		o.Type = discordgo.ApplicationCommandOptionChannel
		o.ChannelTypes = []discordgo.ChannelType{discordgo.ChannelTypeGuildText}
		return o
	}
	if len(choices) > 0 && len(choices) <= maxChoices {
		for _, c := range choices {
			if len(c) > maxChoiceValue {
				o.Choices = nil
				break
			}
			o.Choices = append(o.Choices, &discordgo.ApplicationCommandOptionChoice{Name: c, Value: c})
		}
		if o.Choices != nil {
			return o
		}
	}
	switch kind {
	case "int":
		o.Type = discordgo.ApplicationCommandOptionInteger
	case "number":
		o.Type = discordgo.ApplicationCommandOptionNumber
	}
	return o
}

var badName = regexp.MustCompile(`[^-_\p{L}\p{N}]+`)

// optName makes a valid Discord option name: lower case, 1–32 characters.
func optName(s string) string {
	s = badName.ReplaceAllString(strings.ToLower(s), "-")
	s = strings.Trim(s, "-")
	if s == "" {
		s = "x"
	}
	return textclip.UTF16(s, maxNameLen, "")
}

// verbKey is the catalog key of a verb path's summary
// ("verb.incident.open.summary").
func verbKey(words []string) string { return verbBase(words) + ".summary" }

// verbBase is the catalog prefix of a verb path's keys; its options'
// descriptions are under .param.<name> and .flag.<name>.
func verbBase(words []string) string { return "verb." + strings.Join(words, ".") }

// zhDesc is the zh-CN description localization of key, nil when the
// catalog has no Chinese entry (Discord then shows the English).
func zhDesc(key string) map[discordgo.Locale]string {
	if !locale.Has(locale.ZhCN, key) {
		return nil
	}
	return map[discordgo.Locale]string{discordgo.ChineseCN: desc(locale.T(locale.ZhCN, key), key)}
}

// desc makes a description of 1–100 characters.
func desc(s, fallback string) string {
	s = strings.TrimSpace(strings.SplitN(s, "\n", 2)[0])
	if s == "" {
		s = fallback
	}
	return cut(s, maxDescLen)
}

func pathKey(words []string) string {
	names := make([]string, len(words))
	for i, w := range words {
		names[i] = optName(w)
	}
	return strings.Join(names, " ")
}

// args turns the typed options of an /ops interaction back into the words
// the registry parses, e.g. ["logs","search","LLM API Error","--file","app"].
func (sp *spec) args(data discordgo.ApplicationCommandInteractionData) ([]string, error) {
	opts := data.Options
	var path []string
	for len(opts) == 1 && (opts[0].Type == discordgo.ApplicationCommandOptionSubCommand || opts[0].Type == discordgo.ApplicationCommandOptionSubCommandGroup) {
		path = append(path, opts[0].Name)
		opts = opts[0].Options
	}
	if len(path) == 0 {
		return nil, commands.Errorf("choose a subcommand of /%s", CommandName)
	}
	if sp.run && len(path) == 1 && path[0] == runSubcommand {
		for _, o := range opts {
			if o.Name == runOptionName {
				v, err := optionValue(o)
				if err != nil {
					return nil, err
				}
				return commands.Split(v)
			}
		}
		return nil, commands.Errorf("/%s run needs a command", CommandName)
	}
	// Groups flatten deeper verbs as "sub-subsub"; the key is built from
	// the verb words the same way.
	lf := sp.leaves[strings.Join(path, " ")]
	if lf == nil {
		lf = sp.findFlattened(path)
	}
	if lf == nil {
		return nil, commands.Errorf("unknown command /%s %s; the command list may be out of date, try again in a minute", CommandName, strings.Join(path, " "))
	}
	words := append([]string(nil), lf.words...)
	pos := make([]string, len(lf.verb.Params))
	given := make([]bool, len(lf.verb.Params))
	var flags []string
	for _, o := range opts {
		ref, ok := lf.opts[o.Name]
		if !ok {
			return nil, commands.Errorf("unknown option %q for /%s %s", o.Name, CommandName, strings.Join(path, " "))
		}
		val, err := optionValue(o)
		if err != nil {
			return nil, err
		}
		switch {
		case ref.param >= 0:
			pos[ref.param], given[ref.param] = val, true
		case ref.flag.Bool:
			if val == "true" {
				flags = append(flags, "--"+ref.flag.Name)
			}
		default:
			flags = append(flags, "--"+ref.flag.Name, val)
		}
	}
	last := -1
	for i, g := range given {
		if g {
			last = i
		}
	}
	for i := 0; i < last; i++ {
		if !given[i] {
			return nil, commands.Errorf("give %s too when giving %s", lf.verb.Params[i].Name, lf.verb.Params[last].Name)
		}
	}
	pos = pos[:last+1]
	dashed := false
	for _, p := range pos {
		if strings.HasPrefix(p, "-") && len(p) > 1 {
			dashed = true
		}
	}
	if dashed {
		// A value such as "-v" must not be read as a flag.
		words = append(append(append(words, flags...), "--"), pos...)
	} else {
		words = append(append(words, pos...), flags...)
	}
	return words, nil
}

func (sp *spec) findFlattened(path []string) *leaf {
	if len(path) != 2 {
		return nil
	}
	for _, lf := range sp.leaves {
		if len(lf.words) > 2 && optName(lf.words[0]) == path[0] && optName(strings.Join(lf.words[1:], "-")) == path[1] {
			return lf
		}
	}
	return nil
}

// maxExact bounds the whole numbers a JSON number (a float64) carries
// exactly: Discord's own range for integer options is ±2^53, and above it
// 2^53+1 already arrives as 2^53.
const maxExact = 1 << 53

// optionValue renders a typed option value as the word a user would type.
// A whole number too large to have arrived exactly is refused rather than
// passed on altered.
func optionValue(o *discordgo.ApplicationCommandInteractionDataOption) (string, error) {
	switch v := o.Value.(type) {
	case string:
		if o.Type == discordgo.ApplicationCommandOptionUser && v != "" {
			return "<@" + v + ">", nil
		}
		if o.Type == discordgo.ApplicationCommandOptionChannel && v != "" {
			return "<#" + v + ">", nil
		}
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case float64:
		whole := v == math.Trunc(v)
		switch {
		case math.IsNaN(v) || math.IsInf(v, 0):
			return "", commands.Errorf("option %s: not a number", o.Name)
		case whole && math.Abs(v) >= maxExact:
			// The digits sent are lost already: say so rather than echo a
			// rounded number.
			return "", commands.Errorf("option %s: number too large; whole numbers must lie between -%d and %d", o.Name, maxExact-1, maxExact-1)
		case whole:
			return strconv.FormatInt(int64(v), 10), nil
		case o.Type == discordgo.ApplicationCommandOptionInteger:
			return "", commands.Errorf("option %s: want a whole number, got %s", o.Name, strconv.FormatFloat(v, 'f', -1, 64))
		}
		return strconv.FormatFloat(v, 'f', -1, 64), nil
	case nil:
		return "", nil
	default:
		return fmt.Sprint(v), nil
	}
}

// commandText is a readable form of the words for the audit row, quoted so
// it reads back the same way.
func commandText(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		if w == "" || strings.ContainsFunc(w, unicode.IsSpace) || strings.ContainsAny(w, "\"'\\") {
			w = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(w) + `"`
		}
		out[i] = w
	}
	return strings.Join(out, " ")
}
