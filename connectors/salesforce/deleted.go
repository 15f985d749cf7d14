package salesforce

import (
	"context"
	"fmt"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// Windows of the sObject Get Deleted resource. Salesforce ignores seconds,
// wants start to precede end by more than a minute, and reaches 30 days
// back at most (its delete log may keep less: earliestDateAvailable).
const (
	minDeletedWindow = 2 * time.Minute
	maxDeletedWindow = 30*24*time.Hour - 10*time.Minute // a margin for clocks apart
	probeWindow      = 5 * time.Minute
)

// deletions reads the records of e deleted since the watermark and hands
// them over as Batch.Deleted. Merged-away records are among them:
// Salesforce deletes the losers of a merge. It runs before e's query, so
// that a record deleted then restored (which bumps its SystemModstamp)
// ends up present.
func (p *puller) deletions(ctx context.Context, e *entity) error {
	since, _ := parseDatetime(p.wm[e.key(keyDeleted)]) // checked by startWatermark
	start, end := since.Truncate(time.Minute), p.c.now().Truncate(time.Minute)
	if end.Sub(start) < minDeletedWindow {
		return nil
	}
	if oldest := end.Add(-maxDeletedWindow).Truncate(time.Minute); start.Before(oldest) {
		p.missed(e, start, "Salesforce lists deletions of the last 30 days only")
		start = oldest.Add(time.Minute)
	}
	if err := p.acquire(ctx); err != nil {
		return err
	}
	res, start, err := p.fetchDeleted(ctx, e, start, end)
	if err != nil {
		return fmt.Errorf("salesforce: deleted %s: %w", e.sobject, err)
	}
	if earliest, err := parseDatetime(res.EarliestDateAvailable); err == nil && earliest.After(start) {
		p.missed(e, start, "Salesforce's delete log now starts at "+earliest.Format(time.RFC3339))
	}
	covered, err := parseDatetime(res.LatestDateCovered)
	if err != nil || covered.Before(start) {
		covered = start
	}
	return p.emitDeleted(ctx, e, res, formatDatetime(covered))
}

// fetchDeleted asks for the deletions in [start, end). When Salesforce
// refuses the window because its delete log was purged past start, it
// learns the earliest date available and asks again from there; it
// returns the start finally used.
func (p *puller) fetchDeleted(ctx context.Context, e *entity, start, end time.Time) (*deletedResult, time.Time, error) {
	res, err := p.c.deleted(ctx, e.sobject, start, end)
	if !hasCode(err, "INVALID_REPLICATION_DATE") {
		return res, start, err
	}
	probe, perr := p.c.deleted(ctx, e.sobject, end.Add(-probeWindow), end)
	if perr != nil {
		return nil, start, err
	}
	earliest, perr := parseDatetime(probe.EarliestDateAvailable)
	if perr != nil || !earliest.After(start) {
		return nil, start, err
	}
	p.missed(e, start, "Salesforce purged its delete log up to "+earliest.Format(time.RFC3339))
	start = earliest.Truncate(time.Minute).Add(time.Minute)
	if end.Sub(start) < minDeletedWindow {
		return probe, start, nil
	}
	res, err = p.c.deleted(ctx, e.sobject, start, end)
	return res, start, err
}

// missed warns that deletions before start cannot be read any more.
func (p *puller) missed(e *entity, start time.Time, why string) {
	p.c.logger.Warn("deletions may have been missed: "+why+"; records deleted since the last sync may linger until a full sync (crmsync sync --full)",
		"object", e.sobject, "since", start.Format(time.RFC3339))
}

// emitDeleted hands over the deletions in pages of BatchSize; the last
// one carries the watermark covered. Without deletions the watermark
// waits for the next page.
func (p *puller) emitDeleted(ctx context.Context, e *entity, res *deletedResult, covered string) error {
	var page connectors.Page
	for _, d := range res.DeletedRecords {
		if !validID(d.ID) {
			page.Rejects = append(page.Rejects, model.Reject{Source: p.c.opts.Source, Entity: e.kind, Where: d.ID,
				Reason: "deleted record: not a Salesforce id", At: p.c.now(), Raw: connectors.TruncateRaw([]byte(d.ID), maxRaw)})
			continue
		}
		page.Deleted = append(page.Deleted, model.Deletion{Entity: e.kind, ID: model.ID(p.c.opts.Source, d.ID)})
		if len(page.Deleted) == p.c.opts.BatchSize {
			if err := p.emit(ctx, page); err != nil {
				return err
			}
			page = connectors.Page{}
			if err := p.acquire(ctx); err != nil {
				return err
			}
		}
	}
	p.set(e.key(keyDeleted), covered)
	if len(page.Deleted)+len(page.Rejects) == 0 {
		p.release()
		return nil
	}
	return p.emit(ctx, page)
}
