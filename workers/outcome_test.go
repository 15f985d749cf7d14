package workers

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/store"
)

const holdoutRules = `
rules:
  - name: quiet
    when: days_inactive >= 90
    cooldown: 10d
    holdout: 50%
    outcome_window: 7d
    actions:
      - email: {to: primary_contact, template: reengage-90d}
`

// TestHoldoutAndOutcomes: a rule's holdout gets no message but a ledger
// entry and an outcome, like the messaged accounts; the accounts that
// come back within the window close as re-engaged, the others once the
// window is over; caps never count the holdout.
func TestHoldoutAndOutcomes(t *testing.T) {
	for _, caps := range []PassLimits{{}, {Emails: 100}} {
		ctx := context.Background()
		s := store.New(redistest.Client(t), redistest.Namespace(t))
		storeQuietClients(t, s, 20)
		q := &taskRecorder{}
		e := newEvaluatorRules(t, s, q, &Planner{}, holdoutRules)
		e.Limits = caps
		rule := e.Rules.Rule("quiet")
		var held, messaged []string
		for i := range 20 {
			id := model.ID("crm", fmt.Sprintf("%03d", i))
			if rule.InHoldout(id) {
				held = append(held, id)
			} else {
				messaged = append(messaged, id)
			}
		}
		if len(held) == 0 || len(messaged) == 0 {
			t.Fatalf("draw put %d of 20 in the holdout: pick other ids", len(held))
		}
		rep, err := e.Evaluate(ctx, "p1", evalNow)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(q.messages()); got != len(messaged) || rep.Enqueued[notify.Email] != len(messaged) || rep.Skipped["quiet"][string(SkipHoldout)] != len(held) {
			t.Fatalf("caps %+v: %d emails, report %v skipped %v; want %d emails and %d held out", caps, got, rep.Enqueued, rep.Skipped, len(messaged), len(held))
		}
		hist, err := s.Ledger.History(ctx, held[0])
		if err != nil || len(hist) != 1 || hist[0].Status != store.StatusHoldout || hist[0].Features["days_inactive"] == nil {
			t.Fatalf("ledger of held-out %s = %+v, %v", held[0], hist, err)
		}
		// one of each group comes back within the window
		back := []string{held[0], messaged[0]}
		for _, id := range back {
			touch(t, s, id, evalNow.Add(2*24*time.Hour))
		}
		if _, err := e.Evaluate(ctx, "p2", evalNow.Add(3*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		st, err := s.Passes.RuleOutcomes(ctx, "quiet")
		want := store.OutcomeStats{Messaged: 1, MessagedReengaged: 1, Holdout: 1, HoldoutReengaged: 1, Open: 18}
		if err != nil || st != want {
			t.Fatalf("after 3 days: %+v, %v; want %+v", st, err, want)
		}
		// the window is over for the rest; the cooldown (10d) is not, so no flag reopens
		if _, err := e.Evaluate(ctx, "p3", evalNow.Add(8*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		st, _ = s.Passes.RuleOutcomes(ctx, "quiet")
		want = store.OutcomeStats{Messaged: int64(len(messaged)), MessagedReengaged: 1, Holdout: int64(len(held)), HoldoutReengaged: 1}
		if st != want {
			t.Errorf("after the window: %+v, want %+v", st, want)
		}
	}
}

// touch records an activity on account id at at.
func touch(t *testing.T, s *store.Store, id string, at time.Time) {
	t.Helper()
	c, ok, err := s.Records.Client(context.Background(), id)
	if err != nil || !ok {
		t.Fatalf("client %s: %v", id, err)
	}
	c.Account.LastActivityAt = at
	if err := s.Records.StorePage(context.Background(), "crm", model.Batch{Accounts: []model.Account{c.Account}}, nil, nil); err != nil {
		t.Fatal(err)
	}
}
