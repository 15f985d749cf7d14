package workers

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/slack"
)

// deliverBatch is a batch of rendered Slack nudges and an email, as a
// pass enqueues them.
func deliverBatch(t testing.TB, n int) DeliverPayload {
	t.Helper()
	days := 130
	d := notify.Data{Rule: "high-value-churning", Severity: "critical", Title: "Key account <slipping> & more",
		Account:    model.Account{Ref: model.Ref{ID: "hubspot:42"}, Name: "Acme & <Sons>", URL: "https://app.hubspot.com/contacts/1/company/42?tab=a&b=c"},
		Revenue12m: 12345.6, Currency: "EUR", ABC: "A", DaysInactive: 97, DaysSincePurchase: &days}
	fallback, blocks, err := slack.Render(d, "", slack.ToChannel)
	if err != nil {
		t.Fatal(err)
	}
	p := DeliverPayload{Pass: "p-1"}
	for i := range n {
		m := notify.Message{LedgerKey: "k" + string(rune('a'+i%26)), Channel: notify.Slack, Rule: d.Rule, AccountID: d.Account.ID,
			To: "#key-accounts", Text: fallback, Blocks: blocks, Expression: `abc == "A" && x < 2`,
			Features: map[string]any{"abc": "A", "days_inactive": 97, "revenue_12m": 12345.6}, CreatedAt: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
		if i%3 == 0 {
			m.Channel, m.Blocks, m.HTML, m.NotBefore = notify.Email, nil, "<p>Hi & bye</p>", m.CreatedAt.Add(time.Hour)
		}
		p.Messages = append(p.Messages, m)
	}
	return p
}

// TestDeliverJSON checks that a deliver task's payload decodes to what
// was enqueued, blocks and all, and reads as encoding/json writes it.
func TestDeliverJSON(t *testing.T) {
	for _, n := range []int{0, 1, 7} {
		p := deliverBatch(t, n)
		b, err := deliverJSON(p)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(b) {
			t.Fatalf("%d messages: not JSON: %s", n, b)
		}
		var got DeliverPayload
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(p)
		var w, g any
		json.Unmarshal(want, &w)
		json.Unmarshal(b, &g)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%d messages: payload\n%s\nwant the same as\n%s", n, b, want)
		}
		for i := range got.Messages {
			if string(got.Messages[i].Blocks) != string(p.Messages[i].Blocks) {
				t.Errorf("message %d: blocks %s, want %s", i, got.Messages[i].Blocks, p.Messages[i].Blocks)
			}
		}
	}
}

// BenchmarkDeliverJSON measures encoding a full batch of nudges:
//
//	go test -run '^$' -bench DeliverJSON -benchmem ./workers/
func BenchmarkDeliverJSON(b *testing.B) {
	p := deliverBatch(b, BatchSize)
	b.Run("hand", func(b *testing.B) {
		for b.Loop() {
			if _, err := deliverJSON(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			if _, err := newTask(TypeDeliverSlack, p); err != nil {
				b.Fatal(err)
			}
		}
	})
}
