package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// MaxRejects is how many set-aside records are kept per source.
const MaxRejects = 1000

// pageAttempts bounds the optimistic retries of StorePage when a record it
// moves is changed concurrently.
const pageAttempts = 20

// encoded is one record ready to write: its id, account and JSON.
type encoded struct {
	id, account string
	json        []byte
}

// page is a batch encoded before the transaction starts.
type page struct {
	accounts, contacts, deals, owners []encoded
	rejects                           []any
	deleted                           []model.Deletion
}

// filed is where a contact or deal was stored by a previous sync.
type filed struct {
	account string
}

// StorePage stores a page of records in one MULTI/EXEC: it upserts every
// record of b, removes those b.Deleted lists, records the rejects and sets
// the source's watermark to wm (an empty wm clears it). The watermark can
// thus never be ahead of the stored records. While a sweep is open for the
// source (BeginSweep), the page's records are marked as seen.
func (s *Store) StorePage(ctx context.Context, source string, b model.Batch, rejects []model.Reject, wm connectors.Watermark) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: store page: %w", err)
	}
	p, err := encodePage(source, b, rejects)
	if err != nil {
		return fmt.Errorf("store: store page: %w", err)
	}
	watched := s.pointerKeys(p)
	for attempt := range pageAttempts {
		err = s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			return s.writePage(ctx, tx, source, p, wm)
		}, watched...)
		if !errors.Is(err, redis.TxFailedErr) {
			break
		}
		if err := backoff(ctx, attempt); err != nil {
			return fmt.Errorf("store: store page: %w", err)
		}
	}
	if errors.Is(err, redis.TxFailedErr) {
		return fmt.Errorf("store: store page: records changed concurrently %d times: %w", pageAttempts, err)
	}
	if err != nil {
		return fmt.Errorf("store: store page: %w", err)
	}
	return nil
}

// backoff waits a short random time, growing with attempt, before a
// transaction is retried.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(1+rand.IntN(1+attempt)) * time.Millisecond
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
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
	for _, c := range b.Contacts {
		p.contacts = append(p.contacts, enc(c.ID, c.AccountID, c))
	}
	for _, d := range b.Deals {
		p.deals = append(p.deals, enc(d.ID, d.AccountID, d))
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

func (s *Store) pointerKeys(p page) []string {
	keys := make([]string, 0, len(p.contacts)+len(p.deals))
	for _, c := range p.contacts {
		keys = append(keys, s.key("contact", c.id))
	}
	for _, d := range p.deals {
		keys = append(keys, s.key("deal", d.id))
	}
	for _, d := range p.deleted {
		if k := s.pointerKey(d); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// pointerKey is the key saying where a deleted contact or deal is filed;
// "" for other entities.
func (s *Store) pointerKey(d model.Deletion) string {
	switch d.Entity {
	case model.EntityContact:
		return s.key("contact", d.ID)
	case model.EntityDeal:
		return s.key("deal", d.ID)
	}
	return ""
}

// writePage reads where the page's contacts and deals were filed, then
// writes everything in one MULTI/EXEC on the watching connection.
func (s *Store) writePage(ctx context.Context, tx *redis.Tx, source string, p page, wm connectors.Watermark) error {
	contacts, deals, err := s.readFiled(ctx, tx, p)
	if err != nil {
		return err
	}
	sweeping, err := s.sweeping(ctx, tx, source)
	if err != nil {
		return err
	}
	_, err = tx.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		s.queueAccounts(ctx, pipe, p)
		s.queueContacts(ctx, pipe, p.contacts, contacts)
		s.queueDeals(ctx, pipe, p.deals, deals)
		s.queueDeletions(ctx, pipe, p.deleted, contacts, deals)
		if sweeping {
			s.queueSeen(ctx, pipe, source, p)
		}
		s.queueRejects(ctx, pipe, source, p.rejects)
		s.queueWatermark(ctx, pipe, source, wm)
		return nil
	})
	return err
}

// readFiled returns, per contact and deal id, where it is filed now.
func (s *Store) readFiled(ctx context.Context, tx *redis.Tx, p page) (contacts, deals map[string]filed, err error) {
	if len(p.contacts)+len(p.deals)+len(p.deleted) == 0 {
		return map[string]filed{}, map[string]filed{}, nil
	}
	ccmds := make(map[string]*redis.StringCmd, len(p.contacts))
	dcmds := make(map[string]*redis.StringCmd, len(p.deals))
	_, err = tx.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for _, c := range p.contacts {
			ccmds[c.id] = pipe.Get(ctx, s.key("contact", c.id))
		}
		for _, d := range p.deals {
			dcmds[d.id] = pipe.Get(ctx, s.key("deal", d.id))
		}
		for _, d := range p.deleted {
			switch d.Entity {
			case model.EntityContact:
				ccmds[d.ID] = pipe.Get(ctx, s.key("contact", d.ID))
			case model.EntityDeal:
				dcmds[d.ID] = pipe.Get(ctx, s.key("deal", d.ID))
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, nil, fmt.Errorf("read previous accounts: %w", err)
	}
	if contacts, err = filedFrom(ccmds); err == nil {
		deals, err = filedFrom(dcmds)
	}
	return contacts, deals, err
}

// filedFrom reads the answers of readFiled's GETs; a missing key is a
// record never filed.
func filedFrom(cmds map[string]*redis.StringCmd) (map[string]filed, error) {
	out := make(map[string]filed, len(cmds))
	for id, cmd := range cmds {
		if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("read previous accounts: %w", err)
		}
		out[id] = filed{account: cmd.Val()}
	}
	return out, nil
}

func (s *Store) queueAccounts(ctx context.Context, pipe redis.Pipeliner, p page) {
	for _, a := range p.accounts {
		pipe.Set(ctx, s.key("acct", a.id), a.json, 0)
		pipe.ZAdd(ctx, s.key("accounts"), redis.Z{Member: a.id})
	}
	for _, o := range p.owners {
		pipe.Set(ctx, s.key("owner", o.id), o.json, 0)
	}
}

// queueContacts files each contact under its account, moving it out of
// the account it was filed under before.
// prev is updated as the page goes, so a contact listed twice ends up
// filed once.
func (s *Store) queueContacts(ctx context.Context, pipe redis.Pipeliner, cs []encoded, prev map[string]filed) {
	for _, c := range cs {
		old := prev[c.id]
		if old.account != "" && old.account != c.account {
			pipe.HDel(ctx, s.key("contacts", old.account), c.id)
		}
		if c.account != "" {
			pipe.HSet(ctx, s.key("contacts", c.account), c.id, c.json)
		}
		pipe.Set(ctx, s.key("contact", c.id), c.account, 0)
		prev[c.id] = filed{account: c.account}
	}
}

// queueDeals is queueContacts for deals.
func (s *Store) queueDeals(ctx context.Context, pipe redis.Pipeliner, ds []encoded, prev map[string]filed) {
	for _, d := range ds {
		old := prev[d.id]
		if old.account != "" && old.account != d.account {
			pipe.HDel(ctx, s.key("deals", old.account), d.id)
		}
		if d.account != "" {
			pipe.HSet(ctx, s.key("deals", d.account), d.id, d.json)
		}
		pipe.Set(ctx, s.key("deal", d.id), d.account, 0)
		prev[d.id] = filed{account: d.account}
	}
}

func (s *Store) queueRejects(ctx context.Context, pipe redis.Pipeliner, source string, rejects []any) {
	if len(rejects) == 0 {
		return
	}
	list := s.key("rejects", source)
	pipe.LPush(ctx, list, rejects...)
	pipe.LTrim(ctx, list, 0, MaxRejects-1)
	pipe.IncrBy(ctx, s.key("rejects-total", source), int64(len(rejects)))
}

func (s *Store) queueWatermark(ctx context.Context, pipe redis.Pipeliner, source string, wm connectors.Watermark) {
	k := s.key("watermark", source)
	pipe.Del(ctx, k)
	if len(wm) > 0 {
		pipe.HSet(ctx, k, map[string]string(wm))
	}
}

// Watermark returns the source's stored watermark: an empty, non-nil map
// when there is none.
func (s *Store) Watermark(ctx context.Context, source string) (connectors.Watermark, error) {
	m, err := s.rdb.HGetAll(ctx, s.key("watermark", source)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: watermark: %w", err)
	}
	return connectors.Watermark(m), nil
}

// ResetWatermark forgets the source's watermark, so its next sync is full.
func (s *Store) ResetWatermark(ctx context.Context, source string) error {
	if err := s.rdb.Del(ctx, s.key("watermark", source)).Err(); err != nil {
		return fmt.Errorf("store: reset watermark: %w", err)
	}
	return nil
}

// Rejects returns the source's last n set-aside records, newest first (at
// most MaxRejects are kept), and how many were ever recorded.
func (s *Store) Rejects(ctx context.Context, source string, n int) (recent []model.Reject, total int64, err error) {
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
