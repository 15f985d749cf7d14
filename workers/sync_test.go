package workers

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// pagedConnector serves n pages of one account each, resuming after the
// page number in the watermark, and fails at page failAt (0: never).
type pagedConnector struct {
	n, failAt int
	froms     []connectors.Watermark
}

func (c *pagedConnector) Pull(ctx context.Context, from connectors.Watermark, fn connectors.PageFunc) error {
	c.froms = append(c.froms, from.Clone())
	start := 0
	fmt.Sscan(from["page"], &start)
	for i := start + 1; i <= c.n; i++ {
		if i == c.failAt {
			return errors.New("crm unreachable")
		}
		p := connectors.Page{Watermark: connectors.Watermark{"page": fmt.Sprint(i)}}
		p.Accounts = []model.Account{{Ref: model.NewRef("crm", fmt.Sprint(i)), Name: fmt.Sprint("Account ", i), Lifecycle: model.Customer}}
		if err := fn(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

func TestSyncResumesFromTheLastStoredPage(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	conn := &pagedConnector{n: 5, failAt: 4}
	y := &Syncer{Sources: map[string]connectors.Connector{"crm": conn}, Store: s, Metrics: NewMetrics(prometheus.NewRegistry()), Logger: testLogger()}

	st, err := y.Sync(ctx, "crm", false)
	if err == nil {
		t.Fatal("want the connector's error")
	}
	if st.Pages != 3 {
		t.Fatalf("stored %d pages before the failure, want 3", st.Pages)
	}
	wm, err := s.Watermark(ctx, "crm")
	if err != nil || wm["page"] != "3" {
		t.Fatalf("watermark = %v, %v; want page 3, the last stored", wm, err)
	}

	conn.failAt = 0
	st, err = y.Sync(ctx, "crm", false)
	if err != nil || st.Pages != 2 {
		t.Fatalf("resume: %d pages, %v; want the 2 remaining", st.Pages, err)
	}
	if n, _ := s.CountAccounts(ctx); n != 5 {
		t.Fatalf("%d accounts stored, want 5", n)
	}

	if _, err := y.Sync(ctx, "crm", true); err != nil {
		t.Fatal(err)
	}
	if last := conn.froms[len(conn.froms)-1]; len(last) != 0 {
		t.Fatalf("--full pulled from %v, want from scratch", last)
	}
}

func TestSyncUnknownSource(t *testing.T) {
	y := &Syncer{Sources: map[string]connectors.Connector{}, Store: testStore(t), Metrics: NewMetrics(prometheus.NewRegistry()), Logger: testLogger()}
	if _, err := y.Sync(context.Background(), "nope", false); err == nil {
		t.Fatal("want an error for an unknown source")
	}
}
