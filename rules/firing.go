package rules

// Firing keeps the matches whose rule fires now (firing returns true: its
// condition has held long enough, see Rule.For) and applies inhibition
// among those only: a rule still waiting out its `for` inhibits nothing.
func Firing(matches []Match, firing func(*Rule) bool) []Match {
	out := make([]Match, 0, len(matches))
	for _, m := range matches {
		if firing(m.Rule) {
			out = append(out, Match{Rule: m.Rule, Actions: m.Rule.Actions})
		}
	}
	inhibit(out)
	return out
}
