// Package forms holds the dialogs opsbot shows where a platform has them
// (Slack and Discord modals) for what people fill in at bad moments: open
// an incident, silence an alert, add a note. A form's answers become the
// words of the command typed by hand, so the registry decides, audits and
// answers exactly as for a slash command.
package forms

import (
	"fmt"
	"strings"
)

// Button is the chat.Button ID that opens a form; its Value is
// "<form>" or "<form>:<argument>" (the incident id, the alert's matchers).
const Button = "form"

// Input is one text field.
type Input struct {
	ID          string
	Label       string
	Placeholder string
	// Value is the prefilled answer.
	Value    string
	Long     bool // several lines
	Optional bool
	Max      int
	// Options, when set, are the answers to pick from where the platform
	// has selects (Slack); elsewhere the text is checked by the command.
	Options []string
	// List names a list of answers the platform fills in (ListTargets).
	List string
}

// SilenceDurations are the silence form's choices where the platform has
// selects; the role's longest silence still applies when it runs.
var SilenceDurations = []string{"1h", "4h", "24h", "7d"}

// Lists a platform fills in: the configured targets, the open incidents.
const (
	ListTargets   = "target"
	ListIncidents = "incident"
	// ListChannels is a channel picker where the platform has one (Slack);
	// elsewhere the text is a channel mention or id the command checks.
	ListChannels = "channel"
	// ListUsers is a member picker where the platform has one (Slack);
	// elsewhere the text is a mention the command checks.
	ListUsers = "user"
)

// Choice is one answer of a list: the value the command gets, the label
// people read.
type Choice struct{ Value, Label string }

// Form is a dialog and the way from its answers to a command.
type Form struct {
	ID     string
	Title  string
	Inputs []Input
	// words turns the answers (by input id) and the argument into the
	// command's words: flags first, then "--", so an answer that starts
	// with a dash is never read as a flag.
	words func(arg string, in map[string]string) ([]string, error)
}

// Strings users read, kept together for translation.
const (
	msgUnknown  = "unknown form %q"
	msgRequired = "%s is required"
)

var all = map[string]func(arg string) Form{
	"incident-open": func(string) Form {
		return Form{ID: "incident-open", Title: "Open an incident", Inputs: []Input{
			{ID: "title", Label: "What is wrong", Placeholder: "API answers 502", Max: 200},
			{ID: "sev", Label: "Severity (critical or warning)", Value: "critical", Max: 10, Options: []string{"critical", "warning"}},
			{ID: "target", Label: "Target (empty: the only one)", Optional: true, Max: 64, List: ListTargets},
			{ID: "lead", Label: "Lead (@someone; empty: none yet)", Optional: true, Max: 64, List: ListUsers},
			{ID: "channel", Label: "Channel for its thread", Placeholder: "empty: the incident channel", Optional: true, Max: 100, List: ListChannels},
		}, words: func(_ string, in map[string]string) ([]string, error) {
			w := []string{"incident", "open", "--sev", in["sev"]}
			if t := in["target"]; t != "" {
				w = append(w, "--target", t)
			}
			if l := in["lead"]; l != "" {
				w = append(w, "--lead", l)
			}
			if c := in["channel"]; c != "" {
				w = append(w, "--channel", c)
			}
			return append(w, "--", in["title"]), nil
		}}
	},
	"silence": func(arg string) Form {
		return Form{ID: "silence", Title: "Silence alerts", Inputs: []Input{
			{ID: "matcher", Label: "Matchers (key=value,…)", Value: arg, Max: 500},
			{ID: "duration", Label: "For how long (30m, 2h, 1d)", Value: "1h", Max: 10, Options: SilenceDurations},
			{ID: "reason", Label: "Why", Long: true, Optional: true, Max: 500},
		}, words: func(_ string, in map[string]string) ([]string, error) {
			w := []string{"silence", "--", in["matcher"], in["duration"]}
			if r := in["reason"]; r != "" {
				w = append(w, r)
			}
			return w, nil
		}}
	},
	"incident-note": func(arg string) Form {
		if arg == "" {
			// Opened without an id: the incident is picked (or typed).
			return Form{ID: "incident-note", Title: "Add a note", Inputs: []Input{
				{ID: "incident", Label: "Incident (its number)", Max: 20, List: ListIncidents},
				{ID: "text", Label: "Note", Long: true, Max: 2000},
			}, words: func(_ string, in map[string]string) ([]string, error) {
				return []string{"incident", "note", "--", strings.TrimPrefix(in["incident"], "#"), in["text"]}, nil
			}}
		}
		return Form{ID: "incident-note", Title: "Add a note", Inputs: []Input{
			{ID: "text", Label: "Note for incident #" + arg, Long: true, Max: 2000},
		}, words: func(arg string, in map[string]string) ([]string, error) {
			return []string{"incident", "note", "--", arg, in["text"]}, nil
		}}
	},
}

// Open returns the form a button value names ("silence:rule=disk").
func Open(value string) (Form, string, error) {
	id, arg, _ := strings.Cut(value, ":")
	mk, ok := all[id]
	if !ok {
		return Form{}, "", fmt.Errorf(msgUnknown, id)
	}
	return mk(arg), arg, nil
}

// Words turns a submitted form into a command's words; a required answer
// left empty is refused.
func Words(value string, answers map[string]string) ([]string, error) {
	f, arg, err := Open(value)
	if err != nil {
		return nil, err
	}
	in := map[string]string{}
	for _, i := range f.Inputs {
		v := strings.TrimSpace(answers[i.ID])
		if v == "" && !i.Optional {
			return nil, fmt.Errorf(msgRequired, i.Label)
		}
		in[i.ID] = v
	}
	return f.words(arg, in)
}

// ForCommand is the form that stands for a command typed without its
// arguments ("incident open", "silence"), if any.
func ForCommand(words []string) (string, bool) {
	switch strings.Join(words, " ") {
	case "incident open":
		return "incident-open", true
	case "silence":
		return "silence", true
	case "incident note":
		return "incident-note", true
	}
	if len(words) == 3 && words[0] == "incident" && words[1] == "note" {
		return "incident-note:" + words[2], true
	}
	return "", false
}
