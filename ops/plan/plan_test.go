package plan_test

import (
	"math"
	"strings"
	"testing"

	"opsbot/ops/plan"
)

func TestSeedFormula(t *testing.T) {
	// The seed's calculate_resource_needs(10000, 0.1, 12).
	p, err := plan.Parse("10000", "0.1", "12")
	if err != nil {
		t.Fatal(err)
	}
	last := p.Rows[len(p.Rows)-1]
	future := 10000 * math.Pow(1.1, 12) // 31384.28…
	if last.Month != 12 || math.Abs(last.Users-future) > 1e-6 {
		t.Fatalf("last %+v", last)
	}
	if last.Cores != 31 || last.MemoryGB != 62 || math.Abs(last.StorageGB-future*0.1) > 1e-9 {
		t.Fatalf("needs %+v", last)
	}
	if p.Rows[0].Month != 0 || p.Rows[0].Users != 10000 || p.Rows[0].Cores != 10 || p.Rows[0].MemoryGB != 20 {
		t.Fatalf("first %+v", p.Rows[0])
	}
	// Small numbers hit the floors.
	n := plan.Need(150)
	if n.Cores != 2 || n.MemoryGB != 4 || n.StorageGB != 20 {
		t.Fatalf("floors %+v", n)
	}
}

func TestGrowthForms(t *testing.T) {
	for in, want := range map[string]float64{"0.1": 0.1, "10%": 0.1, "2.5%": 0.025, "0": 0, "-5%": -0.05, "150%": 1.5, "1": 1} {
		g, err := plan.ParseGrowth(in)
		if err != nil || math.Abs(g-want) > 1e-12 {
			t.Errorf("%q: %v %v, want %v", in, g, err, want)
		}
	}
	a, _ := plan.Parse("5000", "10%", "6")
	b, _ := plan.Parse("5000", "0.1", "6")
	if a.Table() != b.Table() {
		t.Fatal("10% and 0.1 differ")
	}
}

func TestTable(t *testing.T) {
	p, err := plan.Parse("10000", "10%", "12")
	if err != nil {
		t.Fatal(err)
	}
	tab := p.Table()
	lines := strings.Split(tab, "\n")
	if len(lines) != 1+7 || !strings.Contains(lines[0], "memory GB") {
		t.Fatalf("table:\n%s", tab)
	}
	if !strings.Contains(lines[len(lines)-1], "31,384") {
		t.Fatalf("last line %q", lines[len(lines)-1])
	}
	p, _ = plan.Parse("100", "0", "0")
	if got := strings.Count(p.Table(), "\n"); got != 1 {
		t.Fatalf("months 0 table has %d rows", got)
	}
}

func TestBadNumbers(t *testing.T) {
	cases := []struct{ users, growth, months, want string }{
		{"lots", "0.1", "12", `users must be a whole number of users (e.g. 5000), got "lots"`},
		{"-5", "0.1", "12", `users must be a whole number of users (e.g. 5000), got "-5"`},
		{"1.5", "0.1", "12", `users must be a whole number`},
		{"2000000000", "0.1", "12", "users must be at most 1000000000"},
		{"1000", "ten", "12", `growth must be a monthly rate such as 0.1 or 10%, got "ten"`},
		{"1000", "NaN", "12", `growth must be a monthly rate`},
		{"1000", "Inf%", "12", `growth must be a monthly rate`},
		{"1000", "10", "12", "growth 10 would be 1000% a month; write 10% or 0.1 for 10%"},
		{"1000", "-100%", "12", "growth must be above -100% a month"},
		{"1000", "5000%", "12", "growth must be at most 1000% a month"},
		{"1000", "%", "12", "growth must be a monthly rate"},
		{"1000", "0.1", "1.5", `months must be a whole number from 0 to 120, got "1.5"`},
		{"1000", "0.1", "-1", `months must be a whole number from 0 to 120`},
		{"1000", "0.1", "500", `months must be a whole number from 0 to 120`},
		{"1000000000", "1000%", "120", "beyond any plan"},
	}
	for _, c := range cases {
		_, err := plan.Parse(c.users, c.growth, c.months)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s %s %s: %v, want %q", c.users, c.growth, c.months, err, c.want)
		}
	}
}
