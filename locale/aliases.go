package locale

import "strings"

// stageAliases are the stage names of the Chinese ops guide (and the short
// forms people type) with the canonical English name they stand for.
var stageAliases = map[string]string{
	"发现":   "discovery",
	"故障发现": "discovery",
	"初步评估": "assessment",
	"评估":   "assessment",
	"故障处理": "handling",
	"处理":   "handling",
	"故障恢复": "recovery",
	"恢复":   "recovery",
	"事后分析": "post-mortem",
	"复盘":   "post-mortem",
	"关闭":   "closed",
	"已关闭":  "closed",
}

// severityAliases are the guide's severity words ("严重故障", "警告").
var severityAliases = map[string]string{
	"严重":   "critical",
	"严重故障": "critical",
	"紧急":   "critical",
	"警告":   "warning",
	"告警":   "warning",
}

// Stage returns the canonical stage name a Chinese alias stands for;
// canonical names and unknown words come back unchanged with ok false.
func Stage(word string) (string, bool) {
	w := strings.TrimSpace(word)
	if c, ok := stageAliases[w]; ok {
		return c, true
	}
	return word, false
}

// Severity returns the canonical severity a Chinese alias stands for, as
// Stage does.
func Severity(word string) (string, bool) {
	w := strings.TrimSpace(word)
	if c, ok := severityAliases[w]; ok {
		return c, true
	}
	return word, false
}

// StageAliases lists the aliases of a canonical stage name, for help text.
func StageAliases(canonical string) []string {
	var out []string
	for _, a := range []string{"发现", "故障发现", "初步评估", "评估", "故障处理", "处理", "故障恢复", "恢复", "事后分析", "复盘", "关闭", "已关闭"} {
		if stageAliases[a] == canonical {
			out = append(out, a)
		}
	}
	return out
}

// StageName is a canonical stage's name for people in the printer's
// language (故障处理 for handling).
func (p Printer) StageName(canonical string) string {
	return p.T("stage." + canonical)
}

// SeverityName is a severity's name for people (严重 for critical).
func (p Printer) SeverityName(sev string) string {
	switch sev {
	case "critical", "warning":
		return p.T("severity." + sev)
	}
	return sev
}

// SeverityWords is a copy of the Chinese severity aliases (alias →
// canonical), for a parser's alias table.
func SeverityWords() map[string]string { return clone(severityAliases) }

// StageWords is a copy of the Chinese stage aliases (alias → canonical),
// for a parser's alias table.
func StageWords() map[string]string { return clone(stageAliases) }

func clone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
