package routing

// PagingPolicies returns the escalation policies named by the receivers an
// alert with ls is routed to, in route order, each once: routing decides
// who hears an alert, paging executes the policy.
func (t *Tree) PagingPolicies(ls Labels) []string {
	var out []string
	for _, r := range t.Root.Match(ls) {
		rc, ok := t.Receivers[r.Receiver]
		if !ok || rc.PagingPolicy == "" {
			continue
		}
		seen := false
		for _, p := range out {
			seen = seen || p == rc.PagingPolicy
		}
		if !seen {
			out = append(out, rc.PagingPolicy)
		}
	}
	return out
}
