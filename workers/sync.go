package workers

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/hibiken/asynq"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// pageStore is what a sync needs of the store.
type pageStore interface {
	Watermark(ctx context.Context, source string) (connectors.Watermark, error)
	ResetWatermark(ctx context.Context, source string) error
	StorePage(ctx context.Context, source string, b model.Batch, rejects []model.Reject, wm connectors.Watermark) error
}

// SyncStats counts what one sync stored.
type SyncStats struct {
	Pages, Accounts, Contacts, Deals, Owners, Rejects int
}

// Records returns the number of records stored.
func (s SyncStats) Records() int { return s.Accounts + s.Contacts + s.Deals + s.Owners }

func (s *SyncStats) add(p connectors.Page) {
	s.Pages++
	s.Accounts += len(p.Accounts)
	s.Contacts += len(p.Contacts)
	s.Deals += len(p.Deals)
	s.Owners += len(p.Owners)
	s.Rejects += len(p.Rejects)
}

// Syncer pulls sources into the store, page by page.
type Syncer struct {
	Sources map[string]connectors.Connector
	Store   pageStore
	Metrics *Metrics
	Logger  *slog.Logger
	// Progress, when set, is called after each stored page.
	Progress func(source string, s SyncStats)
}

// Sync pulls one source from its watermark (from scratch when full) and
// stores every page together with the watermark it reaches, so a crash
// resumes after the last stored page and never skips one.
func (y *Syncer) Sync(ctx context.Context, source string, full bool) (SyncStats, error) {
	var st SyncStats
	conn, ok := y.Sources[source]
	if !ok {
		return st, fmt.Errorf("sync: unknown source %q", source)
	}
	if full {
		if err := y.Store.ResetWatermark(ctx, source); err != nil {
			return st, fmt.Errorf("sync %s: %w", source, err)
		}
	}
	wm, err := y.Store.Watermark(ctx, source)
	if err != nil {
		return st, fmt.Errorf("sync %s: %w", source, err)
	}
	err = conn.Pull(ctx, wm, func(ctx context.Context, p connectors.Page) error {
		if err := y.Store.StorePage(ctx, source, p.Batch, p.Rejects, p.Watermark); err != nil {
			return err
		}
		st.add(p)
		y.count(source, p)
		if y.Progress != nil {
			y.Progress(source, st)
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("sync %s: %w", source, err)
	}
	y.Logger.Info("sync done", "source", source, "pages", st.Pages, "records", st.Records(), "rejects", st.Rejects)
	return st, nil
}

func (y *Syncer) count(source string, p connectors.Page) {
	m := y.Metrics
	m.SyncPages.WithLabelValues(source).Inc()
	m.SyncRecords.WithLabelValues(source, "account").Add(float64(len(p.Accounts)))
	m.SyncRecords.WithLabelValues(source, "contact").Add(float64(len(p.Contacts)))
	m.SyncRecords.WithLabelValues(source, "deal").Add(float64(len(p.Deals)))
	m.SyncRecords.WithLabelValues(source, "owner").Add(float64(len(p.Owners)))
	m.SyncRejects.WithLabelValues(source).Add(float64(len(p.Rejects)))
	for _, r := range p.Rejects {
		y.Logger.Warn("record set aside", "source", source, "entity", r.Entity, "where", r.Where, "reason", r.Reason)
	}
}

// ProcessTask implements asynq.Handler for TypeSync.
func (y *Syncer) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p SyncPayload
	if err := decode(t, &p); err != nil {
		return err
	}
	if _, ok := y.Sources[p.Source]; !ok {
		return fmt.Errorf("sync: unknown source %q: %w", p.Source, asynq.SkipRetry)
	}
	_, err := y.Sync(ctx, p.Source, p.Full)
	return err
}
