package dynamics

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/workers"
)

// benchAccounts is the size of the benchmarks' org: each account has two
// contacts, one opportunity and one completed activity.
const benchAccounts = 10_000

// seedBench adds n generated accounts with their contacts, opportunities
// and activities to f.
func (f *fakeOrg) seedBench(n int) {
	guid := func(kind, i int) string { return fmt.Sprintf("%08x-%04x-4000-8000-000000000000", i, kind) }
	for i := range n {
		acct := guid(1, i)
		f.put("accounts", map[string]any{"accountid": acct, "name": fmt.Sprintf("Account %d", i), "websiteurl": fmt.Sprintf("https://a%d.example", i),
			"_ownerid_value": johnID, "_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "systemuser", "customertypecode": 3,
			"createdon": "2021-02-01T21:17:12Z", "modifiedon": "2024-09-13T20:23:03Z"})
		for j := range 2 {
			f.put("contacts", map[string]any{"contactid": guid(2+j, i), "firstname": "Ann", "lastname": fmt.Sprint(i), "emailaddress1": fmt.Sprintf("ann%d.%d@a%d.example", j, i, i),
				"_parentcustomerid_value": acct, "_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "account",
				"donotemail": false, "donotbulkemail": j == 1, "modifiedon": "2024-09-13T20:23:03Z"})
		}
		f.put("opportunities", map[string]any{"opportunityid": guid(4, i), "name": "Deal", "_parentaccountid_value": acct, "statecode": 1,
			"actualvalue": 1000 + i, "actualclosedate": "2024-06-28", "_transactioncurrencyid_value": usdID, "modifiedon": "2024-06-28T17:05:10Z"})
		f.put("activitypointers", map[string]any{"activityid": guid(5, i), "statecode": 1, "actualend": "2024-09-10T15:10:00Z",
			"_regardingobjectid_value": acct, "_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "account", "modifiedon": "2024-09-10T15:10:00Z"})
	}
}

func benchConnector(b *testing.B) *Connector {
	f := newFakeOrg(b)
	f.seedBench(benchAccounts)
	opts := f.options()
	opts.PageSize = DefaultPageSize
	opts.RequestsPer5Min = LimitRequestsPer5Min
	c, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkDecode pulls the org in full and drops the pages.
func BenchmarkDecode(b *testing.B) {
	c := benchConnector(b)
	records := 0
	b.ResetTimer()
	for range b.N {
		err := c.Pull(b.Context(), nil, func(_ context.Context, p connectors.Page) error {
			records += p.Len() + len(p.Rejects)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkSyncRedis syncs the org in full into a real Redis through
// workers.Syncer, each page stored with its watermark.
func BenchmarkSyncRedis(b *testing.B) {
	rdb := redistest.Client(b)
	y := &workers.Syncer{
		Sources: map[string]connectors.Connector{"dyn": benchConnector(b)},
		Metrics: workers.NewMetrics(prometheus.NewRegistry()),
		Logger:  slog.New(slog.DiscardHandler),
	}
	records := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		fresh := store.New(rdb, redistest.Namespace(b))
		y.Records, y.Syncs = fresh.Records, fresh.Syncs
		b.StartTimer()
		st, err := y.Sync(b.Context(), "dyn", true)
		if err != nil {
			b.Fatal(err)
		}
		records += st.Records() + st.Rejects
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}
