package forms

import (
	"slices"
	"testing"
)

func TestWords(t *testing.T) {
	cases := []struct {
		value   string
		answers map[string]string
		want    []string
		err     string
	}{
		{"incident-open", map[string]string{"title": " API down ", "sev": "warning"}, []string{"incident", "open", "--sev", "warning", "--", "API down"}, ""},
		{"incident-open", map[string]string{"title": "x", "sev": "critical", "target": "api"}, []string{"incident", "open", "--sev", "critical", "--target", "api", "--", "x"}, ""},
		{"incident-open", map[string]string{"sev": "critical"}, nil, "What is wrong is required"},
		{"incident-open", map[string]string{"title": "x", "sev": "warning", "lead": "<@U123>"}, []string{"incident", "open", "--sev", "warning", "--lead", "<@U123>", "--", "x"}, ""},
		{"incident-open", map[string]string{"title": "x", "sev": "warning", "channel": "C0WAR"}, []string{"incident", "open", "--sev", "warning", "--channel", "C0WAR", "--", "x"}, ""},
		{"silence:rule=disk,target=api", map[string]string{"matcher": "rule=disk,target=api", "duration": "2h", "reason": "planned -- work"}, []string{"silence", "--", "rule=disk,target=api", "2h", "planned -- work"}, ""},
		{"incident-note:7", map[string]string{"text": "rolled back"}, []string{"incident", "note", "--", "7", "rolled back"}, ""},
		{"nope", nil, nil, `unknown form "nope"`},
	}
	for _, c := range cases {
		got, err := Words(c.value, c.answers)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%s: err %v, want %s", c.value, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: %q %v, want %q", c.value, got, err, c.want)
		}
	}
	if f, _, _ := Open("silence:rule=disk"); f.Inputs[0].Value != "rule=disk" {
		t.Errorf("silence matchers not prefilled: %+v", f.Inputs[0])
	}
	if v, ok := ForCommand([]string{"incident", "note", "7"}); !ok || v != "incident-note:7" {
		t.Errorf("ForCommand note: %q %v", v, ok)
	}
}
