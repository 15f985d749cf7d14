package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/crmsync/crmsync/model"
)

// testDeletions stores a portfolio, then a page deleting a contact, a deal
// and an account (with a merge-style page: the winner updated, the loser
// deleted), and checks what is left.
func testDeletions(t *testing.T, s *Store) {
	mustStore(t, s, model.Batch{
		Accounts: []model.Account{account("a1", ""), account("a2", ""), account("a3", "")},
		Contacts: []model.Contact{contact("c1", "a1", "c1@x.io"), contact("c2", "a1", "c2@x.io"), contact("c3", "a3", "c3@x.io")},
		Deals:    []model.Deal{deal("d1", "a1", 5), deal("d2", "a1", 7)},
	}, nil)
	del := func(entity, id string) model.Deletion { return model.Deletion{Entity: entity, ID: "crm:" + id} }
	mustStore(t, s, model.Batch{
		Accounts: []model.Account{account("a2", "")},
		Deleted: []model.Deletion{
			del(model.EntityContact, "c2"), del(model.EntityDeal, "d1"), del(model.EntityAccount, "a3"),
			del(model.EntityContact, "never-stored"), del(model.EntityContact, "c2"),
		},
	}, nil)
	a1 := mustClient(t, s, "crm:a1")
	if got := contactIDs(a1); !slices.Equal(got, []string{"crm:c1"}) {
		t.Errorf("a1 contacts = %v, want [crm:c1]", got)
	}
	if got := dealIDs(a1); !slices.Equal(got, []string{"crm:d2"}) {
		t.Errorf("a1 deals = %v, want [crm:d2]", got)
	}
	if _, ok, err := s.Records.Client(context.Background(), "crm:a3"); ok || err != nil {
		t.Errorf("deleted account a3: ok %v, err %v; want gone", ok, err)
	}
	if n, _ := s.Records.CountAccounts(context.Background()); n != 2 {
		t.Errorf("CountAccounts = %d, want 2", n)
	}
	if acct, err := filedPointer(context.Background(), s, "ccrm:c3"); acct != "" || err != nil {
		t.Error("the deleted account's contact still has its pointer")
	}
	// A deleted contact that comes back is filed again.
	mustStore(t, s, model.Batch{Contacts: []model.Contact{contact("c2", "a2", "c2@x.io")}}, nil)
	if got := contactIDs(mustClient(t, s, "crm:a2")); !slices.Equal(got, []string{"crm:c2"}) {
		t.Errorf("a2 contacts after return = %v, want [crm:c2]", got)
	}
}

// testSweep runs a "full sync" that sees only part of what is stored: the
// unseen records of that source go, other sources' records stay.
func testSweep(t *testing.T, s *Store) {
	ctx := context.Background()
	mustStore(t, s, model.Batch{
		Accounts: []model.Account{account("a1", ""), account("a2", "")},
		Contacts: []model.Contact{contact("c1", "a1", "c1@x.io"), contact("c2", "a1", "c2@x.io"), contact("c3", "a2", "c3@x.io")},
		Deals:    []model.Deal{deal("d1", "a1", 5), deal("d2", "a2", 7)},
	}, nil)
	other := model.Account{Ref: model.NewRef("crm2", "z"), Name: "Other source", Lifecycle: model.Customer}
	if err := s.Records.StorePage(ctx, "crm2", model.Batch{Accounts: []model.Account{other}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Records.EndSweep(ctx, "crm"); err != nil || st != (SweepStats{}) {
		t.Fatalf("EndSweep without a sweep = %+v, %v; want nothing done", st, err)
	}
	if err := s.Records.BeginSweep(ctx, "crm", t0); err != nil {
		t.Fatal(err)
	}
	mustStore(t, s, model.Batch{
		Accounts: []model.Account{account("a1", "")},
		Contacts: []model.Contact{contact("c1", "a1", "c1@x.io")},
		Deals:    []model.Deal{deal("d1", "a1", 5)},
	}, nil)
	if on, err := s.Records.Sweeping(ctx, "crm"); !on || err != nil {
		t.Fatalf("Sweeping = %v, %v; want true", on, err)
	}
	st, err := s.Records.EndSweep(ctx, "crm")
	if err != nil {
		t.Fatal(err)
	}
	if want := (SweepStats{Accounts: 1, Contacts: 2, Deals: 1}); st != want {
		t.Errorf("EndSweep = %+v, want %+v", st, want)
	}
	a1 := mustClient(t, s, "crm:a1")
	if got := contactIDs(a1); !slices.Equal(got, []string{"crm:c1"}) {
		t.Errorf("a1 contacts = %v, want [crm:c1]", got)
	}
	if got := dealIDs(a1); !slices.Equal(got, []string{"crm:d1"}) {
		t.Errorf("a1 deals = %v, want [crm:d1]", got)
	}
	if _, ok, _ := s.Records.Client(ctx, "crm:a2"); ok {
		t.Error("unseen account a2 is still there")
	}
	if _, ok, _ := s.Records.Client(ctx, "crm2:z"); !ok {
		t.Error("the other source's account was swept")
	}
	if on, _ := s.Records.Sweeping(ctx, "crm"); on {
		t.Error("sweep still open after EndSweep")
	}
}

// testSweepMany sweeps more records than one batch of EndSweep.
func testSweepMany(t *testing.T, s *Store) {
	ctx := context.Background()
	var b model.Batch
	for i := range 2*sweepBatch + 10 {
		a := fmt.Sprintf("a%04d", i)
		b.Accounts = append(b.Accounts, account(a, ""))
		b.Contacts = append(b.Contacts, contact("c"+a, a, a+"@x.io"))
	}
	mustStore(t, s, b, nil)
	if err := s.Records.BeginSweep(ctx, "crm", t0); err != nil {
		t.Fatal(err)
	}
	keep := model.Batch{Accounts: b.Accounts[:5], Contacts: b.Contacts[:5]}
	mustStore(t, s, keep, nil)
	st, err := s.Records.EndSweep(ctx, "crm")
	if err != nil {
		t.Fatal(err)
	}
	if want := (SweepStats{Accounts: 2*sweepBatch + 5, Contacts: 2*sweepBatch + 5}); st != want {
		t.Errorf("EndSweep = %+v, want %+v", st, want)
	}
	if n, _ := s.Records.CountAccounts(ctx); n != 5 {
		t.Errorf("CountAccounts = %d, want 5", n)
	}
}

func testRefreshTokens(t *testing.T, s *Store) {
	ctx := context.Background()
	if got, err := s.Syncs.RefreshToken(ctx, "sf", "r0"); err != nil || got != "r0" {
		t.Fatalf("RefreshToken before any rotation = %q, %v; want the configured r0", got, err)
	}
	if err := s.Syncs.SaveRefreshToken(ctx, "sf", "r0", "r1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Syncs.RefreshToken(ctx, "sf", "r0"); got != "r1" {
		t.Fatalf("RefreshToken after rotation = %q, want r1", got)
	}
	if got, _ := s.Syncs.RefreshToken(ctx, "sf", "new"); got != "new" {
		t.Fatalf("RefreshToken with a new configured token = %q, want it to win", got)
	}
}

// testSweepBigAccount sweeps an account with more contacts than Lua can
// unpack at once.
func testSweepBigAccount(t *testing.T, s *Store) {
	ctx := context.Background()
	b := model.Batch{Accounts: []model.Account{account("big", "")}}
	for i := range 9000 {
		b.Contacts = append(b.Contacts, contact(fmt.Sprintf("c%05d", i), "big", "x@x.io"))
	}
	mustStore(t, s, b, nil)
	if err := s.Records.BeginSweep(ctx, "crm", t0); err != nil {
		t.Fatal(err)
	}
	mustStore(t, s, model.Batch{Accounts: b.Accounts, Contacts: b.Contacts[:10]}, nil)
	st, err := s.Records.EndSweep(ctx, "crm")
	if err != nil || st.Contacts != 8990 {
		t.Fatalf("EndSweep = %+v, %v; want 8990 contacts removed", st, err)
	}
}

func testPauseSource(t *testing.T, s *Store) {
	ctx := context.Background()
	if _, _, ok, err := s.Syncs.SourcePause(ctx, "hs"); ok || err != nil {
		t.Fatalf("SourcePause before any pause = %v, %v; want none", ok, err)
	}
	until := time.Now().Add(time.Hour).Truncate(time.Millisecond).UTC()
	if err := s.Syncs.PauseSource(ctx, "hs", "429 DAILY", until); err != nil {
		t.Fatal(err)
	}
	got, reason, ok, err := s.Syncs.SourcePause(ctx, "hs")
	if !ok || err != nil || !got.Equal(until) || reason != "429 DAILY" {
		t.Fatalf("SourcePause = %v, %q, %v, %v; want %v, 429 DAILY", got, reason, ok, err, until)
	}
	if err := s.Syncs.PauseSource(ctx, "hs", "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := s.Syncs.SourcePause(ctx, "hs"); ok {
		t.Fatal("pause still there after clearing it")
	}
}

// testBeginSweepIfStored: a source with nothing stored gets no sweep,
// not even when another source has accounts; once it has one, it does.
func testBeginSweepIfStored(t *testing.T, s *Store) {
	ctx := context.Background()
	other := model.Account{Ref: model.NewRef("crm2", "z"), Name: "Other source"}
	if err := s.Records.StorePage(ctx, "crm2", model.Batch{Accounts: []model.Account{other}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	for _, stored := range []bool{false, true} {
		if stored {
			mustStore(t, s, model.Batch{Accounts: []model.Account{account("a1", "")}}, nil)
		}
		opened, err := s.Records.BeginSweepIfStored(ctx, "crm", time.Now())
		sweeping, _ := s.Records.Sweeping(ctx, "crm")
		if err != nil || opened != stored || sweeping != stored {
			t.Errorf("crm stored %v: opened %v, sweeping %v (%v); want both %v", stored, opened, sweeping, err, stored)
		}
	}
}

func testHasAccounts(t *testing.T, s *Store) {
	ctx := context.Background()
	if ok, err := s.Records.HasAccounts(ctx, "crm"); ok || err != nil {
		t.Fatalf("HasAccounts on an empty store = %v, %v", ok, err)
	}
	other := model.Account{Ref: model.NewRef("crm2", "z"), Name: "Other source"}
	if err := s.Records.StorePage(ctx, "crm2", model.Batch{Accounts: []model.Account{other}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Records.HasAccounts(ctx, "crm"); ok {
		t.Fatal("HasAccounts(crm) counts crm2's account")
	}
	mustStore(t, s, model.Batch{Accounts: []model.Account{account("a1", "")}}, nil)
	if ok, _ := s.Records.HasAccounts(ctx, "crm"); !ok {
		t.Fatal("HasAccounts(crm) = false after storing one")
	}
}

func testSyncLock(t *testing.T, s *Store) {
	ctx := context.Background()
	if ok, _, err := s.Syncs.LockSync(ctx, "hs", "a", time.Minute); !ok || err != nil {
		t.Fatalf("first LockSync = %v, %v", ok, err)
	}
	if ok, cur, _ := s.Syncs.LockSync(ctx, "hs", "b", time.Minute); ok || cur != "a" {
		t.Fatalf("second LockSync = %v, holder %q; want refused, held by a", ok, cur)
	}
	if ok, _, _ := s.Syncs.LockSync(ctx, "sf", "b", time.Minute); !ok {
		t.Fatal("another source's lock is refused")
	}
	if ok, _ := s.Syncs.RenewSync(ctx, "hs", "b", time.Minute); ok {
		t.Fatal("b renewed a's lock")
	}
	if ok, _ := s.Syncs.RenewSync(ctx, "hs", "a", time.Minute); !ok {
		t.Fatal("a cannot renew its lock")
	}
	if err := s.Syncs.UnlockSync(ctx, "hs", "b"); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := s.Syncs.LockSync(ctx, "hs", "b", time.Minute); ok {
		t.Fatal("b's unlock released a's lock")
	}
	if err := s.Syncs.UnlockSync(ctx, "hs", "a"); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := s.Syncs.LockSync(ctx, "hs", "b", time.Minute); !ok {
		t.Fatal("lock not free after a's unlock")
	}
}
