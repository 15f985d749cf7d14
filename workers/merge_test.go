package workers

import (
	"context"
	"fmt"
	"testing"

	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/merge"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/store"
)

// TestEvaluateMergedShards: with a second source holding the same ten
// companies under other ids (sorting before the first source's), every
// shard size evaluates ten portfolio accounts, each once, with revenue
// summed and one email per rule to a contact both sources hold; and the
// groups are kept for lookups.
func TestEvaluateMergedShards(t *testing.T) {
	for _, size := range []int{1, 3, 1000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			ctx := context.Background()
			s := store.New(redistest.Client(t), redistest.Namespace(t))
			storeQuietClients(t, s, 10)
			var b model.Batch
			for i := range 10 {
				id := fmt.Sprintf("%03d", i)
				b.Accounts = append(b.Accounts, model.Account{Ref: model.NewRef("books", id), Name: "ACME " + id, Lifecycle: model.Customer, CreatedAt: evalNow.AddDate(-3, 0, 0)})
				b.Contacts = append(b.Contacts, model.Contact{Ref: model.NewRef("books", "c"+id), AccountID: "books:" + id, Email: "C" + id + "@example.com"})
				b.Deals = append(b.Deals, model.Deal{Ref: model.NewRef("books", "d"+id), AccountID: "books:" + id, Amount: 100, Won: true, ClosedAt: evalNow.AddDate(0, -5, 0)})
			}
			if err := s.Records.StorePage(ctx, "books", b, nil, nil); err != nil {
				t.Fatal(err)
			}
			e := newEvaluator(t, s, &taskRecorder{}, &Planner{})
			e.ShardSize = size
			e.Merge = &merge.Rules{By: []string{merge.ByContactEmail}, Precedence: []string{"crm", "books"}}
			rep, err := e.Evaluate(ctx, "p1", evalNow)
			if err != nil {
				t.Fatal(err)
			}
			want := 1000.0
			for i := range 10 {
				want += float64(1 + i*i)
			}
			if rep.Accounts != 10 || rep.Revenue != want || rep.Flags["quiet"] != 10 || rep.Enqueued[notify.Email] != 20 {
				t.Errorf("accounts %d revenue %v flags %v enqueued %v; want 10, %v, every account once", rep.Accounts, rep.Revenue, rep.Flags, rep.Enqueued, want)
			}
			if m := rep.Merge; m == nil || m.Groups != 10 || m.Merged != 10 {
				t.Errorf("merge = %+v", rep.Merge)
			}
			v, err := e.Portfolio(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			if err := v.EachClient(ctx, 4, func(model.Client) error { n++; return nil }); err != nil || n != 10 {
				t.Errorf("Portfolio read %d accounts (%v), want 10", n, err)
			}
			if g, err := s.Records.MergeGroup(ctx, "books:004"); err != nil || len(g) != 2 || g[0] != "crm:004" {
				t.Errorf("group of books:004 = %v, %v", g, err)
			}
		})
	}
}
