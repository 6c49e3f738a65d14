// Package plan is the seed's capacity planning: users grow by a monthly
// rate, and cores, memory and storage follow from the user count.
package plan

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Limits keep the arithmetic meaningful.
const (
	MaxUsers  = 1_000_000_000
	MaxMonths = 120
)

// Row is the need at one month.
type Row struct {
	Month     int
	Users     float64
	Cores     float64
	MemoryGB  float64
	StorageGB float64
}

// Plan is a projection over months.
type Plan struct {
	Users  int64
	Growth float64 // per month, 0.1 = 10 %
	Months int
	Rows   []Row // month 0, some steps, the last month
}

// Need is the seed's formula for a number of users:
// cores = max(2, users // 1000), memory GB = max(4, users // 500),
// storage GB = max(20, users × 0.1).
func Need(users float64) Row {
	return Row{
		Users:     users,
		Cores:     math.Max(2, math.Floor(users/1000)),
		MemoryGB:  math.Max(4, math.Floor(users/500)),
		StorageGB: math.Max(20, users*0.1),
	}
}

// Compute projects users × (1+growth)^month up to months.
func Compute(users int64, growth float64, months int) Plan {
	p := Plan{Users: users, Growth: growth, Months: months}
	step := max(1, (months+5)/6)
	for m := 0; ; m += step {
		if m > months {
			m = months
		}
		r := Need(float64(users) * math.Pow(1+growth, float64(m)))
		r.Month = m
		p.Rows = append(p.Rows, r)
		if m == months {
			break
		}
	}
	return p
}

// Parse reads the three arguments of `capacity <users> <growth> <months>`;
// each bad one gets a one-line reason.
func Parse(users, growth, months string) (Plan, error) {
	u, err := strconv.ParseInt(strings.ReplaceAll(users, "_", ""), 10, 64)
	if err != nil || u < 0 {
		return Plan{}, fmt.Errorf("users must be a whole number of users (e.g. 5000), got %q", users)
	}
	if u > MaxUsers {
		return Plan{}, fmt.Errorf("users must be at most %d, got %d", MaxUsers, u)
	}
	g, err := ParseGrowth(growth)
	if err != nil {
		return Plan{}, err
	}
	m, err := strconv.Atoi(months)
	if err != nil || m < 0 || m > MaxMonths {
		return Plan{}, fmt.Errorf("months must be a whole number from 0 to %d, got %q", MaxMonths, months)
	}
	p := Compute(u, g, m)
	if last := p.Rows[len(p.Rows)-1].Users; math.IsInf(last, 0) || last > 1e15 {
		return Plan{}, fmt.Errorf("%d users growing %s a month for %d months is beyond any plan", u, Percent(g), m)
	}
	return p, nil
}

// ParseGrowth reads a monthly growth written as a fraction (0.1) or a
// percentage (10%). A bare number above 1 is refused: 10 would mean
// 1000 % a month, which is rarely what was meant.
func ParseGrowth(s string) (float64, error) {
	str := strings.TrimSpace(s)
	pct := strings.HasSuffix(str, "%")
	num := strings.TrimSuffix(str, "%")
	g, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(g) || math.IsInf(g, 0) || num != strings.TrimSpace(num) {
		return 0, fmt.Errorf("growth must be a monthly rate such as 0.1 or 10%%, got %q", s)
	}
	if pct {
		g /= 100
	} else if g > 1 {
		return 0, fmt.Errorf("growth %s would be %s a month; write %s%% or %g for %s%%", num, Percent(g), num, g/100, num)
	}
	if g <= -1 {
		return 0, fmt.Errorf("growth must be above -100%% a month, got %q", s)
	}
	if g > 10 {
		return 0, fmt.Errorf("growth must be at most 1000%% a month, got %q", s)
	}
	return g, nil
}

// Percent prints a rate as a percentage: 0.1 → "10%".
func Percent(g float64) string {
	return strconv.FormatFloat(g*100, 'f', -1, 64) + "%"
}

// Table renders the plan as a small fixed-width table.
func (p Plan) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%5s  %13s  %5s  %9s  %10s\n", "month", "users", "cores", "memory GB", "storage GB")
	for _, r := range p.Rows {
		fmt.Fprintf(&b, "%5d  %13s  %5s  %9s  %10s\n", r.Month, group(r.Users), group(r.Cores), group(r.MemoryGB), group(math.Ceil(r.StorageGB-1e-9)))
	}
	return strings.TrimRight(b.String(), "\n")
}

// group prints a whole number with thousands separators.
func group(f float64) string {
	s := strconv.FormatFloat(math.Round(f), 'f', 0, 64)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}
