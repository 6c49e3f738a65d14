package fleet

import "testing"

// The verbs' behaviour against agents is tested with real agent processes
// in package fleet (fleet_test.go); here, the address grammar.
func TestAddress(t *testing.T) {
	for in, want := range map[string][2]string{"api@web-2": {"api", "web-2"}, "api": {"api", ""}, "@web-1": {"", "web-1"}, "": {"", ""}} {
		if tg, h := Address(in); tg != want[0] || h != want[1] {
			t.Errorf("%q: got %q %q", in, tg, h)
		}
	}
}
