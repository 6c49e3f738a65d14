package incident

import "testing"

// The guide's Chinese stage and severity names are accepted beside the
// English ones; unknown words are still refused.
func TestChineseAliases(t *testing.T) {
	for in, want := range map[string]Stage{"发现": Discovery, "初步评估": Assessment, "故障处理": Handling, "故障恢复": Recovery, "事后分析": PostMortem, "handling": Handling, "postmortem": PostMortem} {
		if got, err := ParseStage(in); err != nil || got != want {
			t.Errorf("ParseStage(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseStage("修复"); err == nil {
		t.Error("unknown Chinese stage accepted")
	}
	for in, want := range map[string]string{"严重": SevCritical, "警告": SevWarning, "critical": SevCritical, "": SevCritical} {
		if got, err := ParseSeverity(in); err != nil || got != want {
			t.Errorf("ParseSeverity(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParseSeverity("致命"); err == nil {
		t.Error("unknown Chinese severity accepted")
	}
}
