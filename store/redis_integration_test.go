package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/model"
)

// TestStoreRedis runs the core tests against a real Redis, which also
// checks the Lua scripts on the real interpreter.
func TestStoreRedis(t *testing.T) {
	for _, tc := range coreTests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, New(redistest.Client(t), redistest.Namespace(t)))
		})
	}
}

func benchPage(n int) model.Batch { return recordsPage(n, 100) }

// recordsPage is page n of accounts records new to the store, each with
// two contacts and three deals.
func recordsPage(n, accounts int) model.Batch {
	var b model.Batch
	for i := range accounts {
		a := fmt.Sprintf("a%d-%d", n, i)
		b.Accounts = append(b.Accounts, account(a, "crm:o1"))
		for j := range 2 {
			b.Contacts = append(b.Contacts, contact(fmt.Sprintf("%s-c%d", a, j), a, fmt.Sprintf("%s-%d@x.io", a, j)))
		}
		for j := range 3 {
			b.Deals = append(b.Deals, deal(fmt.Sprintf("%s-d%d", a, j), a, float64(100*j)))
		}
	}
	return b
}

// BenchmarkStorePage stores pages of 100 accounts, 200 contacts and 300
// deals on a real Redis.
func BenchmarkStorePage(b *testing.B) {
	s := New(redistest.Client(b), redistest.Namespace(b))
	ctx := context.Background()
	pages := make([]model.Batch, 16)
	for i := range pages {
		pages[i] = benchPage(i)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		if err := s.Records.StorePage(ctx, "crm", pages[i%len(pages)], nil, connectors.Watermark{"accounts": "x"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*pages[0].Len())/time.Since(start).Seconds(), "records/s")
}

// BenchmarkClients reads 1000 clients (each with 2 contacts and 3 deals)
// per call from a real Redis.
func BenchmarkClients(b *testing.B) {
	s := New(redistest.Client(b), redistest.Namespace(b))
	ctx := context.Background()
	for i := range 10 {
		if err := s.Records.StorePage(ctx, "crm", benchPage(i), nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	ids, err := s.Records.AccountIDRange(ctx, "", "", 1000)
	if err != nil || len(ids) != 1000 {
		b.Fatalf("AccountIDRange = %d, %v", len(ids), err)
	}
	start := time.Now()
	for b.Loop() {
		cs, err := s.Records.Clients(ctx, ids)
		if err != nil || len(cs) != 1000 {
			b.Fatalf("Clients = %d, %v", len(cs), err)
		}
	}
	// Each client is 6 records: the account, 2 contacts and 3 deals.
	elapsed := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N*1000)/elapsed, "clients/s")
	b.ReportMetric(float64(b.N*6000)/elapsed, "records/s")
}
