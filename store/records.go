package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// MaxRejects is how many set-aside records are kept per source.
const MaxRejects = 1000

// encoded is one record ready to write: its id, account and JSON.
type encoded struct {
	id, account string
	json        []byte
	part        string // the record's entry in its account's summary
}

// page is a batch encoded before the transaction starts.
type page struct {
	accounts, contacts, deals, owners []encoded
	rejects                           []any // JSON
	deleted                           []model.Deletion
}

// StorePage stores a page of records atomically: it upserts every record
// of b, removes those b.Deleted lists, records the rejects and sets the
// source's watermark to wm (an empty wm clears it), all in one Lua script.
// The watermark can thus never be ahead of the stored records. While a
// sweep is open for the source (BeginSweep), the page's records are marked
// as seen.
func (s *Records) StorePage(ctx context.Context, source string, b model.Batch, rejects []model.Reject, wm connectors.Watermark) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: store page: %w", err)
	}
	p, err := encodePage(source, b, rejects)
	if err != nil {
		return fmt.Errorf("store: store page: %w", err)
	}
	err = storePageScript.Run(ctx, s.rdb, []string{s.key("accounts")}, p.args(s.key(), source, wm)...).Err()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("store: store page: %w", err)
	}
	return nil
}

func encodePage(source string, b model.Batch, rejects []model.Reject) (page, error) {
	var p page
	var err error
	enc := func(id, account string, v any) encoded {
		data, e := json.Marshal(v)
		err = errors.Join(err, e)
		return encoded{id: id, account: account, json: data}
	}
	for _, a := range b.Accounts {
		p.accounts = append(p.accounts, enc(a.ID, "", a))
	}
	for i, c := range b.Contacts {
		p.contacts = append(p.contacts, enc(c.ID, c.AccountID, c))
		p.contacts[len(p.contacts)-1].part = contactPart(&b.Contacts[i])
	}
	for i, d := range b.Deals {
		p.deals = append(p.deals, enc(d.ID, d.AccountID, d))
		p.deals[len(p.deals)-1].part = dealPart(&b.Deals[i])
	}
	for _, o := range b.Owners {
		p.owners = append(p.owners, enc(o.ID, "", o))
	}
	p.deleted = b.Deleted
	now := time.Now().UTC()
	for _, r := range rejects {
		if r.Source == "" {
			r.Source = source
		}
		if r.At.IsZero() {
			r.At = now
		}
		p.rejects = append(p.rejects, enc("", "", r).json)
	}
	return p, err
}

// Watermark returns the source's stored watermark: an empty, non-nil map
// when there is none.
func (s *Records) Watermark(ctx context.Context, source string) (connectors.Watermark, error) {
	m, err := s.rdb.HGetAll(ctx, s.key("watermark", source)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: watermark: %w", err)
	}
	return connectors.Watermark(m), nil
}

// ResetWatermark forgets the source's watermark, so its next sync is full.
func (s *Records) ResetWatermark(ctx context.Context, source string) error {
	if err := s.rdb.Del(ctx, s.key("watermark", source)).Err(); err != nil {
		return fmt.Errorf("store: reset watermark: %w", err)
	}
	return nil
}

// Rejects returns the source's last n set-aside records, newest first (at
// most MaxRejects are kept), and how many were ever recorded.
func (s *Records) Rejects(ctx context.Context, source string, n int) (recent []model.Reject, total int64, err error) {
	var cnt *redis.StringCmd
	var list *redis.StringSliceCmd
	_, err = s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		cnt = pipe.Get(ctx, s.key("rejects-total", source))
		if n > 0 {
			list = pipe.LRange(ctx, s.key("rejects", source), 0, int64(n-1))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, 0, fmt.Errorf("store: rejects: %w", err)
	}
	total, _ = cnt.Int64()
	if list == nil {
		return nil, total, nil
	}
	vals := list.Val()
	recent = make([]model.Reject, 0, len(vals))
	for _, v := range vals {
		var r model.Reject
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			return nil, 0, fmt.Errorf("store: rejects: decode: %w", err)
		}
		recent = append(recent, r)
	}
	return recent, total, nil
}
