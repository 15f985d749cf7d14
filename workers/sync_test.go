package workers

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

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
	y := &Syncer{Sources: map[string]connectors.Connector{"crm": conn}, Records: s.Records, Syncs: s.Syncs, Metrics: NewMetrics(prometheus.NewRegistry()), Logger: testLogger()}

	st, err := y.Sync(ctx, "crm", false)
	if err == nil {
		t.Fatal("want the connector's error")
	}
	if st.Pages != 3 {
		t.Fatalf("stored %d pages before the failure, want 3", st.Pages)
	}
	wm, err := s.Records.Watermark(ctx, "crm")
	if err != nil || wm["page"] != "3" {
		t.Fatalf("watermark = %v, %v; want page 3, the last stored", wm, err)
	}

	conn.failAt = 0
	st, err = y.Sync(ctx, "crm", false)
	if err != nil || st.Pages != 2 {
		t.Fatalf("resume: %d pages, %v; want the 2 remaining", st.Pages, err)
	}
	if n, _ := s.Records.CountAccounts(ctx); n != 5 {
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
	ts := testStore(t)
	y := &Syncer{Sources: map[string]connectors.Connector{}, Records: ts.Records, Syncs: ts.Syncs, Metrics: NewMetrics(prometheus.NewRegistry()), Logger: testLogger()}
	if _, err := y.Sync(context.Background(), "nope", false); err == nil {
		t.Fatal("want an error for an unknown source")
	}
}

// scriptConnector plays a list of steps: pages, trace events and a final
// error.
type scriptConnector struct {
	pages []connectors.Page
	err   error
}

func (c *scriptConnector) Pull(ctx context.Context, from connectors.Watermark, fn connectors.PageFunc) error {
	tr := connectors.ContextTrace(ctx)
	tr.Estimated("accounts", 10)
	for _, p := range c.pages {
		tr.Requested(200)
		tr.Waiting("rate limit 100/10s", 2*time.Millisecond)
		if err := fn(ctx, p); err != nil {
			return err
		}
	}
	return c.err
}

func accountsPage(wm string, ids ...string) connectors.Page {
	p := connectors.Page{Watermark: connectors.Watermark{"at": wm}}
	for _, id := range ids {
		p.Accounts = append(p.Accounts, model.Account{Ref: model.NewRef("crm", id), Name: id, Lifecycle: model.Customer})
	}
	return p
}

func TestSyncStopsCleanlyAndResumes(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	stop := &connectors.StopError{Reason: "daily limit", Resume: time.Now().Add(time.Hour)}
	conn := &scriptConnector{pages: []connectors.Page{accountsPage("1", "a", "b")}, err: fmt.Errorf("salesforce: %w", stop)}
	y := &Syncer{Sources: map[string]connectors.Connector{"crm": conn}, Records: s.Records, Syncs: s.Syncs, Metrics: NewMetrics(prometheus.NewRegistry()), Logger: testLogger()}
	// Records from an earlier sync, so that this full sync opens a sweep.
	if err := s.Records.StorePage(ctx, "crm", accountsPage("0", "old").Batch, nil, nil); err != nil {
		t.Fatal(err)
	}
	var seen []SyncStats
	y.Progress = func(_ string, st SyncStats) { seen = append(seen, st) }

	st, err := y.Sync(ctx, "crm", false)
	if _, ok := connectors.AsStop(err); !ok {
		t.Fatalf("Sync error = %v, want a StopError", err)
	}
	if st.Stopped == "" || st.Accounts != 2 || st.Requests != 1 || st.Waits != 1 || st.Expected != 10 {
		t.Fatalf("stats = %+v; want Stopped set, 2 accounts, 1 request, 1 wait, 10 expected", st)
	}
	if len(seen) == 0 || seen[0].WaitingFor != "rate limit 100/10s" {
		t.Fatalf("progress = %+v; want a report of the wait first", seen)
	}
	if wm, _ := s.Records.Watermark(ctx, "crm"); wm["at"] != "1" {
		t.Fatalf("watermark = %v, want the stored page's", wm)
	}
	// The sweep of the interrupted full sync stays open: nothing removed.
	if on, _ := s.Records.Sweeping(ctx, "crm"); !on {
		t.Fatal("the stopped full sync closed its sweep")
	}
	if until, _, ok, _ := s.Syncs.SourcePause(ctx, "crm"); !ok || !until.Equal(stop.Resume.Truncate(time.Millisecond)) {
		t.Fatalf("pause = %v, %v; want until the CRM's resume time %v", until, ok, stop.Resume)
	}
	// Scheduled syncs leave the source alone until then.
	calls := len(seen)
	task, _ := NewSyncTask("test", SyncPayload{Source: "crm"})
	if err := y.ProcessTask(ctx, task); err != nil || len(seen) != calls {
		t.Fatalf("ProcessTask while paused = %v after %d progress calls; want nil and no sync", err, len(seen)-calls)
	}
	// A sync that completes clears the pause.
	conn.err = nil
	if _, err := y.Sync(ctx, "crm", false); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := s.Syncs.SourcePause(ctx, "crm"); ok {
		t.Fatal("the pause outlived a complete sync")
	}
}

func TestSyncFromScratchSweeps(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	conn := &scriptConnector{pages: []connectors.Page{accountsPage("1", "a", "b", "c")}}
	y := &Syncer{Sources: map[string]connectors.Connector{"crm": conn}, Records: s.Records, Syncs: s.Syncs, Metrics: NewMetrics(prometheus.NewRegistry()), Logger: testLogger()}
	if _, err := y.Sync(ctx, "crm", false); err != nil {
		t.Fatal(err)
	}
	// "b" is hard-deleted in the CRM; an incremental sync can't tell, a
	// full one removes it.
	conn.pages = []connectors.Page{accountsPage("2", "a", "c")}
	if st, err := y.Sync(ctx, "crm", false); err != nil || st.Swept != 0 {
		t.Fatalf("incremental: swept %d, %v; want 0", st.Swept, err)
	}
	st, err := y.Sync(ctx, "crm", true)
	if err != nil || st.Swept != 1 {
		t.Fatalf("full: swept %d, %v; want 1", st.Swept, err)
	}
	if n, _ := s.Records.CountAccounts(ctx); n != 2 {
		t.Fatalf("%d accounts left, want 2", n)
	}
}

func TestSyncStatsETA(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	st := SyncStats{Accounts: 100, Expected: 400, Started: t0}
	if eta, ok := st.ETA(t0.Add(10 * time.Second)); !ok || eta != 30*time.Second {
		t.Fatalf("ETA = %v, %v; want 30s", eta, ok)
	}
	if _, ok := (SyncStats{Accounts: 5, Started: t0}).ETA(t0.Add(time.Second)); ok {
		t.Fatal("ETA without an expected total should be unknown")
	}
}

// blockingConnector holds its pull until released.
type blockingConnector struct{ started, release chan struct{} }

func (c *blockingConnector) Pull(ctx context.Context, _ connectors.Watermark, _ connectors.PageFunc) error {
	close(c.started)
	select {
	case <-c.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestSyncOnePerSource(t *testing.T) {
	ctx := context.Background()
	conn := &blockingConnector{started: make(chan struct{}), release: make(chan struct{})}
	ts := testStore(t)
	y := &Syncer{Sources: map[string]connectors.Connector{"crm": conn}, Records: ts.Records, Syncs: ts.Syncs, Metrics: NewMetrics(prometheus.NewRegistry()), Logger: testLogger()}
	first := make(chan error, 1)
	go func() {
		_, err := y.Sync(ctx, "crm", false)
		first <- err
	}()
	<-conn.started
	if _, err := y.Sync(ctx, "crm", false); !errors.Is(err, ErrSyncRunning) {
		t.Fatalf("second Sync = %v, want ErrSyncRunning", err)
	}
	task, _ := NewSyncTask("test", SyncPayload{Source: "crm"})
	if _, ok := errors.AsType[*RetryLater](y.ProcessTask(ctx, task)); !ok {
		t.Fatal("scheduled sync while one runs: want a RetryLater")
	}
	close(conn.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	conn.started, conn.release = make(chan struct{}), make(chan struct{})
	close(conn.release)
	if _, err := y.Sync(ctx, "crm", false); err != nil {
		t.Fatalf("Sync after the first ended = %v, want the lock free", err)
	}
}
