package workers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/store"
)

func TestPassLimitsPick(t *testing.T) {
	email := func(to string) notify.Message {
		return notify.Message{Channel: notify.Email, To: to, LedgerKey: "e|" + to}
	}
	nudge := func(to, acct string) notify.Message {
		return notify.Message{Channel: notify.Slack, To: to, LedgerKey: "s|" + to + "|" + acct}
	}
	cand := func(acct, abc string, rev float64, msgs ...notify.Message) *candidate {
		c := &candidate{Rule: "r", Account: acct, ABC: abc, Revenue: rev, Msgs: msgs, Cooldown: true}
		for _, m := range msgs {
			if m.Channel == notify.Slack {
				c.Folds = append(c.Folds, DigestItem{Rule: "r", To: m.To})
			}
		}
		return c
	}
	tests := []struct {
		name         string
		limits       PassLimits
		cands        []*candidate
		wantSent     []string // ledger keys, in value order
		wantDeferred []string // accounts
		wantFolded   []string // account→recipient
	}{
		{
			name:     "no caps: everything, highest value first",
			cands:    []*candidate{cand("c1", "C", 10, email("c1@x.io")), cand("a1", "A", 5, email("a1@x.io")), cand("b1", "B", 90, email("b1@x.io"))},
			wantSent: []string{"e|a1@x.io", "e|b1@x.io", "e|c1@x.io"},
		},
		{
			name:         "email cap: class first, then revenue",
			limits:       PassLimits{Emails: 2},
			cands:        []*candidate{cand("c1", "C", 1e6, email("c1@x.io")), cand("a1", "A", 5, email("a1@x.io")), cand("a2", "A", 50, email("a2@x.io"))},
			wantSent:     []string{"e|a2@x.io", "e|a1@x.io"},
			wantDeferred: []string{"c1"},
		},
		{
			name:   "a match that no longer fits is deferred whole, and so is every later one with emails",
			limits: PassLimits{Emails: 2},
			cands: []*candidate{
				cand("a1", "A", 90, email("a1@x.io"), nudge("rep@x.io", "a1")),
				cand("a2", "A", 80, email("a2@x.io"), email("a2b@x.io"), nudge("rep@x.io", "a2")),
				cand("a3", "A", 70, email("a3@x.io")),
				cand("a4", "A", 60, nudge("rep@x.io", "a4")),
			},
			wantSent:     []string{"e|a1@x.io", "s|rep@x.io|a1", "s|rep@x.io|a4"},
			wantDeferred: []string{"a2", "a3"},
		},
		{
			name:   "nudges over a rep's cap and a channel's cap are folded into digests",
			limits: PassLimits{SlackPerRep: 1, SlackPerChannel: 2},
			cands: []*candidate{
				cand("a1", "A", 90, nudge("rep@x.io", "a1"), nudge("#key", "a1")),
				cand("a2", "A", 80, nudge("REP@x.io", "a2"), nudge("#key", "a2")),
				cand("a3", "A", 70, nudge("other@x.io", "a3"), nudge("#key", "a3")),
			},
			wantSent:   []string{"s|rep@x.io|a1", "s|#key|a1", "s|#key|a2", "s|other@x.io|a3"},
			wantFolded: []string{"a2→REP@x.io", "a3→#key"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.limits.pick(tt.cands)
			var sent, deferred, folded []string
			for _, m := range p.msgs {
				sent = append(sent, m.LedgerKey)
			}
			for _, c := range p.deferred {
				deferred = append(deferred, c.Account)
			}
			for c, tos := range p.folded {
				for _, to := range tos {
					folded = append(folded, c.Account+"→"+to)
				}
			}
			slices.Sort(folded)
			if !slices.Equal(sent, tt.wantSent) || !slices.Equal(deferred, tt.wantDeferred) || !slices.Equal(folded, tt.wantFolded) {
				t.Errorf("sent %q deferred %q folded %q\nwant %q deferred %q folded %q", sent, deferred, folded, tt.wantSent, tt.wantDeferred, tt.wantFolded)
			}
			if len(p.digests) != len(tt.wantFolded) {
				t.Errorf("%d digest items, want one per folded nudge (%d)", len(p.digests), len(tt.wantFolded))
			}
		})
	}
}

// emailRules emails quiet accounts; capRules nudges their rep too.
const (
	emailRules = `
rules:
  - name: quiet
    when: days_inactive >= 90
    cooldown: 30d
    actions:
      - email: {to: primary_contact, template: reengage-90d}
`
	capRules = emailRules + "      - slack: {to: owner}\n"
)

// storeValued stores a quiet account whose only won deal, of amount,
// closed 200 days before evalNow.
func storeValued(t testing.TB, s *store.Store, id string, amount float64) {
	t.Helper()
	storeClient(t, s, id, "c"+id+"@example.com", "")
	d := model.Deal{Ref: model.NewRef("crm", "d"+id), AccountID: model.NewRef("crm", id).ID, Amount: amount, Won: true, ClosedAt: evalNow.AddDate(0, 0, -200)}
	if err := s.Records.StorePage(context.Background(), "crm", model.Batch{Deals: []model.Deal{d}}, nil, nil); err != nil {
		t.Fatal(err)
	}
}

// valuedPortfolio stores one quiet account per amount (crm:1, crm:2, ...)
// and returns an evaluator of capRules with limits l, and its queue.
func valuedPortfolio(t *testing.T, l PassLimits, amounts ...float64) (*taskRecorder, *Evaluator) {
	t.Helper()
	s := testStore(t)
	for i, amount := range amounts {
		storeValued(t, s, fmt.Sprint(i+1), amount)
	}
	q := &taskRecorder{}
	e := newEvaluatorRules(t, s, q, &Planner{}, capRules)
	e.Limits = l
	return q, e
}

// emailedAccounts lists the accounts the recorded tasks email, in order.
func emailedAccounts(q *taskRecorder, from int) []string {
	var out []string
	for _, m := range q.messages()[from:] {
		if m.Channel == notify.Email {
			out = append(out, m.AccountID)
		}
	}
	return out
}

func TestEvaluateDefersOverPerPassCapToLaterPasses(t *testing.T) {
	ctx := context.Background()
	q, e := valuedPortfolio(t, PassLimits{Emails: 2, SlackPerRep: 1}, 1000, 5000, 3000, 9000, 7000)

	rep, err := e.Evaluate(ctx, "p1", evalNow)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := emailedAccounts(q, 0), []string{"crm:4", "crm:5"}; !slices.Equal(got, want) {
		t.Errorf("pass 1 emailed %q, want the two most valuable %q", got, want)
	}
	if rep.Deferred[notify.Email] != 3 || rep.Deferred[notify.Slack] != 3 || rep.Skipped["quiet"][string(SkipDeferred)] != 6 {
		t.Errorf("pass 1 deferred %v, skipped %v; want 3 emails and their 3 nudges deferred", rep.Deferred, rep.Skipped["quiet"])
	}
	if rep.Skipped["quiet"][string(SkipDigest)] != 1 || rep.Messages["quiet"][notify.Slack] != 1 || rep.Messages[DigestRule][notify.Slack] != 1 {
		t.Errorf("pass 1 messages %v, skipped %v; want 1 nudge, the rep's second folded into 1 digest", rep.Messages, rep.Skipped["quiet"])
	}

	n := len(q.messages())
	if _, err := e.Evaluate(ctx, "p2", evalNow.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, want := emailedAccounts(q, n), []string{"crm:2", "crm:3"}; !slices.Equal(got, want) {
		t.Errorf("pass 2 emailed %q, want the next two by value %q (the first two are in cooldown)", got, want)
	}
	n = len(q.messages())
	if _, err := e.Evaluate(ctx, "p3", evalNow.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, want := emailedAccounts(q, n), []string{"crm:1"}; !slices.Equal(got, want) {
		t.Errorf("pass 3 emailed %q, want the last %q", got, want)
	}
	n = len(q.messages())
	if _, err := e.Evaluate(ctx, "p4", evalNow.Add(72*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := emailedAccounts(q, n); len(got) != 0 {
		t.Errorf("pass 4 emailed %q, want nobody: every account had its email", got)
	}
}

func TestPreviewShowsPerPassDeferralAndFolds(t *testing.T) {
	ctx := context.Background()
	q, e := valuedPortfolio(t, PassLimits{Emails: 2, SlackPerRep: 1}, 1000, 5000, 3000)
	flags, err := e.Preview(ctx, evalNow, PreviewFilter{})
	if err != nil {
		t.Fatal(err)
	}
	held := map[string]string{}
	msgs, deferred := map[string]int{}, map[string]int{}
	for _, f := range flags {
		held[f.AccountID] = strings.Join(f.HeldBack, "; ")
		msgs[f.AccountID], deferred[f.AccountID] = len(f.Messages), len(f.Deferred)
	}
	if deferred["crm:1"] != 2 || len(deferred) != 4 || deferred["crm:2"]+deferred["crm:3"] != 0 {
		t.Errorf("deferred messages per account %v; want crm:1's email and nudge, kept for the preview to show", deferred)
	}
	want := map[string]string{
		"crm:2": "",
		"crm:3": "digest to rep@example.com: over limits.per_pass.slack_per_rep (1)",
		"crm:1": "deferred over limits.per_pass.emails (2): to a later pass",
	}
	for id, w := range want {
		if held[id] != w {
			t.Errorf("%s held back %q, want %q", id, held[id], w)
		}
	}
	if msgs["crm:2"] != 2 || msgs["crm:3"] != 1 || msgs["crm:1"] != 0 {
		t.Errorf("messages per account %v; want crm:2 email+nudge, crm:3 email only, crm:1 none", msgs)
	}
	if msgs["digest:rep@example.com"] != 1 {
		t.Errorf("flags %v: want the rep's digest", msgs)
	}
	if len(q.tasks) != 0 {
		t.Errorf("preview enqueued %d tasks", len(q.tasks))
	}
}

const baselineRules = `
rules:
  - name: quiet
    when: days_inactive >= 90
    activation: baseline
    actions:
      - email: {to: primary_contact, template: reengage-90d}
    on_resolve:
      slack: {to: owner, text: "back"}
`

func TestBaselineActivation(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	storeClient(t, s, "1", "ann@example.com", "")
	storeClient(t, s, "2", "bob@example.com", "")
	q := &taskRecorder{}
	e := newEvaluatorRules(t, s, q, &Planner{}, baselineRules)

	flags, err := e.Preview(ctx, evalNow, PreviewFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range flags {
		if len(f.Messages) != 0 || !slices.Equal(f.HeldBack, []string{"baseline"}) {
			t.Errorf("preview before activation: %s held back %q with %d messages; want baseline", f.AccountID, f.HeldBack, len(f.Messages))
		}
	}
	rep, err := e.Evaluate(ctx, "p1", evalNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(q.tasks) != 0 || rep.Flags["quiet"] != 2 || rep.Skipped["quiet"][string(SkipBaseline)] != 2 {
		t.Fatalf("activation pass: %d tasks, flags %v, skipped %v; want 2 flags recorded, no message", len(q.tasks), rep.Flags, rep.Skipped)
	}

	storeClient(t, s, "3", "cy@example.com", "") // starts to match after the activation
	if _, err := e.Evaluate(ctx, "p2", evalNow.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := emailedAccounts(q, 0); !slices.Equal(got, []string{"crm:3"}) {
		t.Errorf("after activation emailed %q, want only the account that started to match", got)
	}

	// ann comes back: her baseline flag resolves without a "back" note,
	// since nobody was ever told about it.
	comesBack(t, s, "1")
	n := len(q.messages())
	rep, err = e.Evaluate(ctx, "p3", evalNow.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Resolved["quiet"] != 1 || len(q.messages()) != n {
		t.Errorf("resolved %v, %d new messages; want ann resolved without a note", rep.Resolved, len(q.messages())-n)
	}
}

func TestPreviewOwnerFilterKeepsTheirDigestsOnly(t *testing.T) {
	ctx := context.Background()
	_, e := valuedPortfolio(t, PassLimits{SlackPerRep: 1}, 1000, 5000, 3000)
	for owner, want := range map[string]int{"rep@example.com": 4, "REP": 4, "nobody@example.com": 0} {
		flags, err := e.Preview(ctx, evalNow, PreviewFilter{Owner: owner})
		if err != nil {
			t.Fatal(err)
		}
		if len(flags) != want {
			t.Errorf("--owner %s: %d entries, want %d (3 flags and the rep's digest, or nothing)", owner, len(flags), want)
		}
		for _, f := range flags {
			if f.AccountID != "digest:rep@example.com" && f.Owner != "rep@example.com" {
				t.Errorf("--owner %s: flag %s owned by %q", owner, f.AccountID, f.Owner)
			}
		}
	}
}

// resolveRules is baselineRules without the baseline.
var resolveRules = strings.Replace(baselineRules, "    activation: baseline\n", "", 1)

// comesBack records activity on account id (stored by storeClient) at
// evalNow: it is no longer quiet.
func comesBack(t *testing.T, s *store.Store, id string) {
	t.Helper()
	acct := model.Account{Ref: model.NewRef("crm", id), Name: "Acme " + id, Lifecycle: model.Customer, OwnerID: "crm:o1", CreatedAt: evalNow.AddDate(-2, 0, 0), LastActivityAt: evalNow}
	if err := s.Records.StorePage(context.Background(), "crm", model.Batch{Accounts: []model.Account{acct}}, nil, nil); err != nil {
		t.Fatal(err)
	}
}

// TestDeferredMatchResolvesWithoutANote: a match the caps deferred was
// never told to anyone: when it stops holding, no "back on track" note.
func TestDeferredMatchResolvesWithoutANote(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	storeValued(t, s, "1", 9000)
	storeValued(t, s, "2", 1000)
	q := &taskRecorder{}
	e := newEvaluatorRules(t, s, q, &Planner{}, resolveRules)
	e.Limits = PassLimits{Emails: 1}
	if _, err := e.Evaluate(ctx, "p1", evalNow); err != nil {
		t.Fatal(err)
	}
	if got := emailedAccounts(q, 0); !slices.Equal(got, []string{"crm:1"}) {
		t.Fatalf("pass 1 emailed %q, want crm:1 (crm:2 deferred)", got)
	}
	comesBack(t, s, "1")
	comesBack(t, s, "2")
	n := len(q.messages())
	rep, err := e.Evaluate(ctx, "p2", evalNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, m := range q.messages()[n:] {
		notes = append(notes, m.AccountID)
	}
	if rep.Resolved["quiet"] != 2 || !slices.Equal(notes, []string{"crm:1"}) {
		t.Errorf("resolved %v, notes about %q; want 2 resolved and a note about crm:1 only", rep.Resolved, notes)
	}
}

// TestEachPickedReadsInOrderAcrossParts: the matches picked come planned
// again, in the order of the heads, a thousand at most at a time, planned
// ahead of fn: the messages its head names, by reference, and its folds,
// rendered; a match whose account is gone is dropped; an error of fn
// stops it.
func TestEachPickedReadsInOrderAcrossParts(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	var b model.Batch
	var heads []*candidate
	for i := range 2500 {
		id := fmt.Sprintf("%04d", i)
		acct := model.Account{Ref: model.NewRef("crm", id), Name: "Acme " + id, Lifecycle: model.Customer, OwnerID: "crm:o1", CreatedAt: evalNow.AddDate(-2, 0, 0)}
		b.Accounts = append(b.Accounts, acct)
		b.Contacts = append(b.Contacts, model.Contact{Ref: model.NewRef("crm", "c"+id), AccountID: acct.ID, Email: "c" + id + "@example.com", Primary: true})
		h := &candidate{Rule: "quiet", Account: acct.ID, heads: []notify.Channel{notify.Email},
			keys: []string{LedgerKey("quiet", acct.ID, notify.Email, "c"+id+"@example.com", "p1")}}
		if i%2 == 1 { // and its nudge
			h.heads = append(h.heads, notify.Slack)
			h.keys = append(h.keys, LedgerKey("quiet", acct.ID, notify.Slack, "rep@example.com", "p1"))
		}
		heads = append(heads, h)
	}
	b.Owners = []model.Owner{{Ref: model.NewRef("crm", "o1"), Name: "Rep", Email: "rep@example.com"}}
	if err := s.Records.StorePage(ctx, "crm", b, nil, nil); err != nil {
		t.Fatal(err)
	}
	e := newEvaluatorRules(t, s, &taskRecorder{}, &Planner{}, capRules)
	doc, err := e.plan(ctx, "p1", evalNow)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(heads)
	heads = append(heads, &candidate{Rule: "quiet", Account: "crm:gone", keys: []string{"quiet|crm:gone|email|x@example.com|p1"}})
	var got []string
	var sizes []int
	err = e.eachPicked(ctx, doc, heads, func(full []*candidate) error {
		sizes = append(sizes, len(full))
		for _, c := range full {
			got = append(got, c.Account)
			want := 1 + int(c.Account[len(c.Account)-1]-'0')%2 // odd ids have their nudge too
			if len(c.Msgs) != want || c.Msgs[0].Subject != "" || c.Msgs[0].LedgerKey != heads[len(got)-1].keys[0] {
				t.Fatalf("%s planned again: %+v; want its %d messages, by reference", c.Account, c.Msgs, want)
			}
			if len(c.Folds) != 1 || c.Folds[0].Entry.AccountName != "Acme "+c.Account[4:] {
				t.Fatalf("%s planned again with folds %+v; want its nudge's, rendered", c.Account, c.Folds)
			}
		}
		return nil
	})
	var wantSizes []int // parts of pickedSize, the last one without crm:gone
	for off := 0; off < len(heads); off += pickedSize {
		n := min(pickedSize, len(heads)-off)
		if off+n == len(heads) {
			n--
		}
		wantSizes = append(wantSizes, n)
	}
	if err != nil || !slices.Equal(sizes, wantSizes) || len(got) != 2500 || got[0] != "crm:2499" || got[2499] != "crm:0000" {
		t.Fatalf("parts %v, %d candidates from %v, %v", sizes, len(got), got[:min(1, len(got))], err)
	}
	stop := errors.New("stop")
	calls := 0
	err = e.eachPicked(ctx, doc, heads, func([]*candidate) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("fn failing: %v after %d calls", err, calls)
	}
}

// TestPerPassRendersAsShardsDo: under limits.per_pass the picked
// messages are rendered again when the pass completes, on every core;
// each one must come out exactly as a pass without caps renders it at
// shard time (same subject, bodies and blocks under the same ledger key),
// and so must the digests, whatever the number of cores.
func TestPerPassRendersAsShardsDo(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4)) // several render ranges even on one core
	ctx := context.Background()
	amounts := make([]float64, 150)
	for i := range amounts {
		amounts[i] = float64(100 * (i + 1))
	}
	byKey := func(q *taskRecorder) map[string]notify.Message {
		out := map[string]notify.Message{}
		for _, m := range q.messages() {
			m.Features = nil // rendered at shard time only for previews and explain
			out[m.LedgerKey] = m
		}
		return out
	}
	capped, ec := valuedPortfolio(t, PassLimits{Emails: 1000, SlackPerRep: 100}, amounts...)
	if _, err := ec.Evaluate(ctx, "p1", evalNow); err != nil {
		t.Fatal(err)
	}
	plain, ep := valuedPortfolio(t, PassLimits{}, amounts...)
	if _, err := ep.Evaluate(ctx, "p1", evalNow); err != nil {
		t.Fatal(err)
	}
	got, want := byKey(capped), byKey(plain)
	emails := 0
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			if w.Channel == notify.Slack {
				continue // the rep's nudges over 100 went into the digest
			}
			t.Fatalf("%s: not sent under per_pass", k)
		}
		if w.Channel == notify.Email {
			emails++
		}
		if g.Subject != w.Subject || g.Text != w.Text || g.HTML != w.HTML || !bytes.Equal(g.Blocks, w.Blocks) || g.To != w.To {
			t.Fatalf("%s rendered under per_pass:\n%+v\nwant, as a pass without caps renders it:\n%+v", k, g, w)
		}
	}
	if emails != len(amounts) {
		t.Fatalf("%d emails compared, want %d", emails, len(amounts))
	}
}

// TestPerPassPlansPickedMatchesAsStaged: a match planned again keeps the
// actions it kept at shard time (inhibited: no nudge, no fold), and a head
// staged by an earlier crmsync (no ledger keys) waits for a later pass,
// its cooldown given back, while the others go.
func TestPerPassPlansPickedMatchesAsStaged(t *testing.T) {
	ctx := context.Background()
	q, e := valuedPortfolio(t, PassLimits{Emails: 10}, 1000, 2000)
	doc, err := e.plan(ctx, "p1", evalNow)
	if err != nil {
		t.Fatal(err)
	}
	key := func(id string, ch notify.Channel, to string) string { return LedgerKey("quiet", id, ch, to, "p1") }
	inhibited := &candidate{Rule: "quiet", Account: "crm:1", inhibited: true,
		keys: []string{key("crm:1", notify.Email, "c1@example.com")}}
	whole := &candidate{Rule: "quiet", Account: "crm:1", keys: inhibited.keys}
	full, err := e.replan(ctx, doc, []*candidate{inhibited, whole})
	if err != nil || len(full) != 2 {
		t.Fatalf("replan: %d, %v", len(full), err)
	}
	if len(full[0].Msgs) != 1 || len(full[0].Folds) != 0 || len(full[1].Folds) != 1 {
		t.Errorf("inhibited: %d messages, %d folds; not inhibited: %d folds; want 1, 0 and 1", len(full[0].Msgs), len(full[0].Folds), len(full[1].Folds))
	}

	heads := map[string][]byte{}
	for _, h := range []store.StagedHead{
		{Rule: "quiet", Account: "crm:1", ABC: "B", Revenue: 1000, Channels: []notify.Channel{notify.Email}, Cooldown: true}, // staged whole, by an earlier crmsync
		{Rule: "quiet", Account: "crm:2", ABC: "A", Revenue: 2000, Channels: []notify.Channel{notify.Email}, Cooldown: true,
			Keys: []string{key("crm:2", notify.Email, "c2@example.com")}},
	} {
		if _, err := e.Passes.AcquireCooldowns(ctx, "p1", []store.RuleAccount{{Rule: h.Rule, Account: h.Account}}, []time.Duration{time.Hour}); err != nil {
			t.Fatal(err)
		}
		heads[h.Rule+"|"+h.Account], _ = json.Marshal(&h)
	}
	if err := e.Passes.StageCandidates(ctx, "p1", heads); err != nil {
		t.Fatal(err)
	}
	rep := newReport("p1", evalNow)
	if _, err := e.perPass(ctx, doc, rep); err != nil {
		t.Fatal(err)
	}
	if got := emailedAccounts(q, 0); !slices.Equal(got, []string{"crm:2"}) || rep.Deferred[notify.Email] != 1 {
		t.Errorf("emailed %v, deferred %v; want crm:2 emailed and crm:1 deferred", got, rep.Deferred)
	}
	until, err := e.Passes.Cooldowns(ctx, []store.RuleAccount{{Rule: "quiet", Account: "crm:1"}, {Rule: "quiet", Account: "crm:2"}})
	if err != nil || !until[0].IsZero() || until[1].IsZero() {
		t.Errorf("cooldowns %v, %v; want crm:1's given back, crm:2's kept", until, err)
	}
}

// TestPerPassTakesCooldownsOfWhatGoes: under limits.per_pass the shards
// only read whether each match's cooldown is free. A match a rail holds
// whole takes its cooldown there; the matches that go take theirs when
// the pass completes, and the deferred ones never hold one. A match
// whose cooldown another pass took between its shard and the pick does
// not go, nor does its outcome open.
func TestPerPassTakesCooldownsOfWhatGoes(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	for i, amount := range []float64{50000, 9000, 7000, 3000, 1000} {
		storeValued(t, s, fmt.Sprint(i+1), amount)
	}
	if err := s.Suppressions.Suppress(ctx, "c1@example.com", "unsubscribed", evalNow); err != nil {
		t.Fatal(err)
	}
	q := &taskRecorder{}
	e := newEvaluatorRules(t, s, q, &Planner{}, emailRules)
	e.Limits = PassLimits{Emails: 2}
	doc, err := e.plan(ctx, "p1", evalNow)
	if err != nil {
		t.Fatal(err)
	}
	for i := range doc.Bounds {
		if _, err := e.runShard(ctx, doc, i); err != nil {
			t.Fatal(err)
		}
	}
	ids := []string{"crm:1", "crm:2", "crm:3", "crm:4", "crm:5"}
	free := func(pass string) []bool {
		t.Helper()
		ps := make([]store.RuleAccount, len(ids))
		for i, id := range ids {
			ps[i] = store.RuleAccount{Rule: "quiet", Account: id}
		}
		got, err := s.Passes.CooldownsFree(ctx, pass, ps)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got, want := free("px"), []bool{false, true, true, true, true}; !slices.Equal(got, want) {
		t.Fatalf("after the shards, cooldowns free to another pass: %v, want %v (only crm:1's, held by its suppression, taken)", got, want)
	}
	// Another pass takes crm:2's, the most valuable that goes, meanwhile.
	if ok, err := s.Passes.AcquireCooldown(ctx, "quiet", "crm:2", "p0", time.Hour); err != nil || !ok {
		t.Fatal(ok, err)
	}
	rep := newReport("p1", evalNow)
	if _, err := e.perPass(ctx, doc, rep); err != nil {
		t.Fatal(err)
	}
	if got := emailedAccounts(q, 0); !slices.Equal(got, []string{"crm:3"}) {
		t.Errorf("emailed %v, want crm:3 only: crm:2's cooldown went to another pass", got)
	}
	if rep.Skipped["quiet"][string(SkipCooldown)] != 1 || rep.Deferred[notify.Email] != 2 {
		t.Errorf("skipped %v, deferred %v; want crm:2 held by its cooldown, crm:4 and crm:5 deferred", rep.Skipped["quiet"], rep.Deferred)
	}
	if got, want := free("p1"), []bool{true, false, true, true, true}; !slices.Equal(got, want) {
		t.Errorf("after the pick, cooldowns free to p1: %v, want %v (p0 holds crm:2's)", got, want)
	}
	if got, want := free("px"), []bool{false, false, false, true, true}; !slices.Equal(got, want) {
		t.Errorf("after the pick, cooldowns free to another pass: %v, want %v (the deferred hold none)", got, want)
	}
	_, open, err := s.Passes.RuleStates(ctx, []string{"quiet"}, ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range open[0] {
		if opened := o != nil && o.Pass == "p1" && o.Group == store.GroupMessaged; opened != (ids[i] == "crm:3") {
			t.Errorf("%s: outcome %+v; want one opened by p1 for crm:3 only", ids[i], o)
		}
	}
	// The stage retried (its task failed after enqueueing) takes the same
	// cooldowns and plans the same message, under the same ledger key.
	first := q.messages()
	if _, err := e.perPass(ctx, doc, newReport("p1", evalNow)); err != nil {
		t.Fatal(err)
	}
	again := q.messages()[len(first):]
	if len(again) != 1 || again[0].LedgerKey != first[0].LedgerKey {
		t.Errorf("retried: %d messages %+v, want crm:3's again under key %s", len(again), again, first[0].LedgerKey)
	}
}

// BenchmarkSplit ranks the heads of a pass that flags 100,000 accounts,
// as the per_pass stage does on the pass's critical path.
func BenchmarkSplit(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	heads := make([]*candidate, 100000)
	for i := range heads {
		heads[i] = &candidate{Rule: "quiet", Account: fmt.Sprintf("crm:%07d", rng.IntN(1e7)), ABC: string(rune('A' + rng.IntN(3))),
			Revenue: float64(rng.IntN(1000)) * 100, heads: []notify.Channel{notify.Email, notify.Slack}}
	}
	l := PassLimits{Emails: 200, SlackPerRep: 5}
	cands := make([]*candidate, len(heads))
	for b.Loop() {
		copy(cands, heads)
		l.split(cands)
	}
}
