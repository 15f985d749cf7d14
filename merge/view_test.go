package merge_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/merge"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/store"
)

// TestViewOnRedis stores three sources in real Redis, with more accounts
// merged away than a read batch holds, and reads them through a View.
func TestViewOnRedis(t *testing.T) {
	ctx := context.Background()
	st := store.New(redistest.Client(t), redistest.Namespace(t))
	page := func(src string, n int, domain func(i int) string) {
		var b model.Batch
		for i := range n {
			id := fmt.Sprintf("%03d", i)
			b.Accounts = append(b.Accounts, model.Account{Ref: model.NewRef(src, id), Name: src + id, Domain: domain(i)})
			b.Deals = append(b.Deals, model.Deal{Ref: model.NewRef(src, "d"+id), AccountID: model.ID(src, id), Amount: 10, Won: true})
		}
		if err := st.Records.StorePage(ctx, src, b, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	// "aaa" sorts first and is folded into "zzz" whole: a View must not stop
	// at a batch of nothing but merged-away ids.
	page("aaa", 30, func(i int) string { return fmt.Sprintf("c%d.com", i) })
	page("mmm", 5, func(i int) string { return fmt.Sprintf("m%d.com", i) })
	page("zzz", 30, func(i int) string { return fmt.Sprintf("c%d.com", i) })
	g, stats, err := merge.Build(ctx, st.Records, merge.Rules{By: []string{merge.ByDomain}, Precedence: []string{"zzz", "aaa"}})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Groups != 30 || stats.Merged != 30 || stats.Accounts != 65 {
		t.Fatalf("stats = %+v", stats)
	}
	v := merge.NewView(st.Records, g)
	var n int
	var revenue float64
	err = v.EachClient(ctx, 7, func(c model.Client) error {
		n++
		for _, d := range c.Deals {
			revenue += d.Amount
		}
		if c.Account.Source == "aaa" {
			t.Errorf("%s listed on its own, want it in zzz's account", c.Account.ID)
		}
		if c.Account.Source == "zzz" && len(c.Account.Sources) != 2 {
			t.Errorf("%s sources = %v", c.Account.ID, c.Account.Sources)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 35 || revenue != 650 {
		t.Errorf("read %d accounts with revenue %v, want 35 and 650", n, revenue)
	}
	ids, err := v.AccountIDRange(ctx, "", "mmm:000", 10)
	if err != nil || len(ids) != 0 {
		t.Errorf("range over merged-away ids only = %v, %v; want none", ids, err)
	}
	cs, err := v.Clients(ctx, []string{"aaa:004", "zzz:004", "mmm:001"})
	if err != nil || len(cs) != 2 || cs[0].Account.ID != "zzz:004" || len(cs[0].Deals) != 2 || cs[1].Account.ID != "mmm:001" {
		t.Errorf("clients = %+v, %v; want zzz:004 (asked as aaa:004, once) and mmm:001", cs, err)
	}
	if p := v.Primary("aaa:004"); p != "zzz:004" {
		t.Errorf("primary = %q", p)
	}
	// a source that stops having the company removes only its part
	del := model.Batch{Deleted: []model.Deletion{{Entity: model.EntityAccount, ID: "zzz:004"}}}
	if err := st.Records.StorePage(ctx, "zzz", del, nil, nil); err != nil {
		t.Fatal(err)
	}
	g, _, err = merge.Build(ctx, st.Records, merge.Rules{By: []string{merge.ByDomain}, Precedence: []string{"zzz", "aaa"}})
	if err != nil {
		t.Fatal(err)
	}
	cs, err = merge.NewView(st.Records, g).Clients(ctx, []string{"aaa:004"})
	if err != nil || len(cs) != 1 || cs[0].Account.ID != "aaa:004" || len(cs[0].Deals) != 1 || cs[0].Account.Sources != nil {
		t.Errorf("after zzz deleted its part: %+v, %v", cs, err)
	}
}
