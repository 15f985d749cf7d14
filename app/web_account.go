package app

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/web"
	"github.com/crmsync/crmsync/workers"
)

// Account returns the portfolio account id stands for (its stored id, or
// the CRM's own id, as ResolveAccount reads it) as passes read it, merged
// across sources with config merge, and its ledger trail: the entries of
// the account and of the accounts it was merged from, newest first. An
// unknown id is a *web.UnknownAccountError with the closest accounts.
func (d *webData) Account(ctx context.Context, id string) (*web.AccountRecord, error) {
	a := d.a
	view, err := a.Handlers.Evaluate.Portfolio(ctx)
	if err != nil {
		return nil, fmt.Errorf("account page: %w", err)
	}
	cs, err := view.Clients(ctx, []string{a.ResolveAccount(ctx, id)})
	if err != nil {
		return nil, fmt.Errorf("account page: %w", err)
	}
	if len(cs) == 0 {
		return nil, d.unknownAccount(ctx, id)
	}
	rec := &web.AccountRecord{Client: cs[0]}
	ids := []string{cs[0].Account.ID}
	for _, s := range cs[0].Account.Sources {
		ids = append(ids, s.ID)
	}
	if rec.Trail, err = d.trail(ctx, ids); err != nil {
		return nil, fmt.Errorf("account page: %w", err)
	}
	return rec, nil
}

// unknownAccount is the error for an id with no account: Explain's, which
// names the closest accounts.
func (d *webData) unknownAccount(ctx context.Context, id string) error {
	_, err := d.a.Handlers.Evaluate.Explain(ctx, time.Now(), id)
	var unknown *workers.UnknownAccountError
	if errors.As(err, &unknown) {
		return &web.UnknownAccountError{ID: id, Suggestions: unknown.Suggestions}
	}
	if err != nil {
		return fmt.Errorf("account page: %w", err)
	}
	return &web.UnknownAccountError{ID: id} // stored since the portfolio was read
}

// trail reads the ledger entries of the accounts ids, once each, newest
// first, with the feature values that made each rule fire written as
// `crmsync history` writes them, and the rendered message where the
// ledger keeps one.
func (d *webData) trail(ctx context.Context, ids []string) ([]web.TrailEntry, error) {
	var out []web.TrailEntry
	seen := map[string]bool{}
	for _, id := range ids {
		es, err := d.a.Store.Ledger.History(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if seen[e.Key] {
				continue
			}
			seen[e.Key] = true
			te := web.TrailEntry{Entry: e, With: FormatFeatures(e.Features)}
			if te.Message, err = d.keptMessage(ctx, e); err != nil {
				return nil, err
			}
			out = append(out, te)
		}
	}
	slices.SortStableFunc(out, func(x, y web.TrailEntry) int { return cmp.Or(y.At().Compare(x.At()), cmp.Compare(x.Key, y.Key)) })
	return out, nil
}

// keptMessage returns the rendered message the ledger keeps for e (it
// keeps those of unknown outcome, for a resend); nil when none.
func (d *webData) keptMessage(ctx context.Context, e store.Entry) (*web.RenderedMessage, error) {
	if e.Status == store.StatusResolved || e.Status == store.StatusHoldout {
		return nil, nil // no message was sent
	}
	b, err := d.a.Store.Ledger.Message(ctx, e.Key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m notify.Message
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("message of %s: %w", e.Key, err)
	}
	text := m.Text
	if text == "" && m.TemplateID != "" {
		text = "rendered by SendGrid from template " + m.TemplateID
	}
	return &web.RenderedMessage{Subject: m.Subject, Text: text}, nil
}
