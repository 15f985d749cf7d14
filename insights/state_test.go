package insights

import (
	"testing"

	"github.com/crmsync/crmsync/rules"
)

// TestStatesAtClassesAsRules: the classes statesAt gives at past month
// ends are rules.ClassifyABC's over the revenue at that time, on the
// 100,000 generated accounts (many equal revenues, so ties matter).
func TestStatesAtClassesAsRules(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 accounts")
	}
	cs, _ := benchPortfolio()
	p := NewPortfolio(now, rules.DefaultSegmentation(), cs)
	for _, back := range []int{1, 6, 13} {
		at := now.AddDate(0, -back, 0)
		got := p.statesAt(at)
		revs := make([]rules.Revenue, len(p.Accounts))
		for i := range p.Accounts {
			revs[i] = rules.Revenue{AccountID: p.Accounts[i].ID, Revenue12m: p.Accounts[i].revenue12mAt(at)}
		}
		want := rules.ClassifyABC(revs, p.Segmentation.ABC)
		for i, a := range p.Accounts {
			if Classes[got[i].class] != want[a.ID] || got[i].revenue != revs[i].Revenue12m {
				t.Fatalf("%d months back, %s: class %s revenue %v, want %s %v", back, a.ID, Classes[got[i].class], got[i].revenue, want[a.ID], revs[i].Revenue12m)
			}
		}
	}
}
