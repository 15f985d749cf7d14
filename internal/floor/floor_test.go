package floor_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/csv"
	"github.com/crmsync/crmsync/examples"
	"github.com/crmsync/crmsync/internal/floor"
	"github.com/crmsync/crmsync/internal/gensample"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/rules"
)

func TestRunFindsWhatTheRulesFind(t *testing.T) {
	generated := t.TempDir()
	if err := gensample.Write(generated, 2000, 11); err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Parse("rules.yaml", examples.Rules)
	if err != nil {
		t.Fatal(err)
	}
	if rs.Segmentation != floor.Segmentation || !slices.Equal(rs.Names(), []string{floor.Inactive90Days, floor.HighValueChurning}) {
		t.Fatalf("examples/rules.yaml has segmentation %+v and rules %v: update the floor", rs.Segmentation, rs.Names())
	}
	tests := []struct {
		name  string
		dir   string
		now   time.Time
		fires bool // every rule matches some account
	}{
		{"bundled sample", "../../examples/sample", examples.SampleAsOf, true},
		{"bundled sample a year later", "../../examples/sample", examples.SampleAsOf.Add(365 * 24 * time.Hour), false},
		{"2,000 generated accounts", generated, gensample.AsOf, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := floor.Run(tt.dir, tt.now)
			if err != nil {
				t.Fatal(err)
			}
			want := evaluate(t, rs, tt.dir, tt.now)
			if got.Scored != want.Scored || !maps.Equal(got.ABC, want.ABC) || !maps.Equal(got.Flags, want.Flags) {
				t.Errorf("floor: %d accounts, ABC %v, flags %v\nrules: %d accounts, ABC %v, flags %v",
					got.Scored, got.ABC, got.Flags, want.Scored, want.ABC, want.Flags)
			}
			if tt.fires && (got.Flags[floor.Inactive90Days] == 0 || got.Flags[floor.HighValueChurning] == 0) {
				t.Errorf("flags %v: want every rule to match some account", got.Flags)
			}
		})
	}
}

func TestRunMissingAccounts(t *testing.T) {
	if _, err := floor.Run(t.TempDir(), time.Now()); err == nil {
		t.Error("Run of an empty directory succeeded")
	}
}

// evaluate reads dir with the csv connector and counts the classes and
// matches that rules.ScorePortfolio and RuleSet.Evaluate find at now.
func evaluate(t *testing.T, rs *rules.RuleSet, dir string, now time.Time) floor.Result {
	t.Helper()
	clients := load(t, dir)
	res := floor.Result{Scored: len(clients), ABC: map[string]int{}, Flags: map[string]int{}}
	for _, name := range rs.Names() {
		res.Flags[name] = 0
	}
	for i, f := range rules.ScorePortfolio(now, clients, rs.Segmentation) {
		res.ABC[f.ABC]++
		matches, err := rs.Evaluate(now, &clients[i], f)
		if err != nil {
			t.Fatalf("Evaluate %s: %v", clients[i].Account.ID, err)
		}
		for _, m := range matches {
			res.Flags[m.Rule.Name]++
		}
	}
	return res
}

// load returns the clients of the portfolio in dir, as the csv connector
// reads it.
func load(t *testing.T, dir string) []model.Client {
	t.Helper()
	var all model.Batch
	c := csv.New("s", os.DirFS(dir), nil)
	err := c.Pull(t.Context(), nil, func(_ context.Context, p connectors.Page) error {
		all.Accounts = append(all.Accounts, p.Accounts...)
		all.Contacts = append(all.Contacts, p.Contacts...)
		all.Deals = append(all.Deals, p.Deals...)
		return nil
	})
	if err != nil {
		t.Fatalf("pull %s: %v", filepath.Base(dir), err)
	}
	byID := make(map[string]int, len(all.Accounts))
	clients := make([]model.Client, len(all.Accounts))
	for i, a := range all.Accounts {
		byID[a.ID] = i
		clients[i].Account = a
	}
	for _, c := range all.Contacts {
		if i, ok := byID[c.AccountID]; ok {
			clients[i].Contacts = append(clients[i].Contacts, c)
		}
	}
	for _, d := range all.Deals {
		if i, ok := byID[d.AccountID]; ok {
			clients[i].Deals = append(clients[i].Deals, d)
		}
	}
	return clients
}

func BenchmarkRun(b *testing.B) {
	for _, n := range gensample.BenchSizes() {
		b.Run(fmt.Sprintf("accounts=%d", n), func(b *testing.B) {
			dir, err := gensample.Cached(n)
			if err != nil {
				b.Fatal(err)
			}
			var res floor.Result
			for b.Loop() {
				var err error
				if res, err = floor.Run(dir, gensample.AsOf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(res.Records())*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(res.Scored)*float64(b.N)/b.Elapsed().Seconds(), "accounts/s")
		})
	}
}
