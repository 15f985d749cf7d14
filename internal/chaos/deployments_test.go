package chaos

import (
	"testing"
	"time"
)

// TestChaosTwoDeployments runs two deployments on one Redis database:
// different redis.namespace, different fakes and portfolios, the same
// schedules. Each must deliver exactly its own messages, and store
// exactly its own records.
func TestChaosTwoDeployments(t *testing.T) {
	gate(t)
	t.Parallel()
	alpha := mainPortfolio()
	beta := alpha
	beta.Label, beta.Companies = "Beta", alpha.Companies*2/3
	refs := []*reference{referenceFor(t, alpha), referenceFor(t, beta)}
	deps := []*deployment{newDeployment(t, "alpha", alpha, setup{}), newDeployment(t, "beta", beta, setup{})}
	for _, d := range deps {
		if code, stdout, stderr := d.command(5*time.Minute, "sync"); code != 0 {
			t.Fatalf("%s: crmsync sync: exit %d\n%s\n%s", d.name, code, stdout, stderr)
		}
	}
	processes := 1
	if full() {
		processes = 2 // and each deployment scaled out
	}
	for range processes {
		for _, d := range deps {
			d.run()
		}
	}
	f := figures{recovery: noRecovery}
	for i, d := range deps {
		if err := d.settle(refs[i], 4*time.Minute); err != nil {
			t.Errorf("%s: %v", d.name, err)
		}
	}
	for i, d := range deps {
		f.add(d.compare(refs[i]))
		if diff := diffStores(refs[i].store, d.snapshot()); !diff.same() {
			t.Errorf("%s: store differs from its reference: %s", d.name, diff)
		}
	}
	f.report(t, "two-deployments")
}
