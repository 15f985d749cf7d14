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

// page is a batch encoded before it is stored.
type page struct {
	accounts   []filedEntry // id, encoded account
	contacts   []filed
	deals      []filed
	owners     [][2]string // id, JSON
	deleted    []model.Deletion
	rejects    []any // JSON
	readIDs    []string
	readFields []string
	seen       [3][]string
}

// file adds a contact ('c') or deal ('d') to the page: what it reads
// (its account, its pointer) and what it marks as seen.
func (p *page) file(kind byte, f filed, want func(string)) {
	list, seen := &p.contacts, &p.seen[1]
	if kind == 'd' {
		list, seen = &p.deals, &p.seen[2]
	}
	*list = append(*list, f)
	*seen = append(*seen, f.id)
	want(f.account)
	p.readFields = append(p.readFields, filedField(kind, f.id))
}

// filed is an encoded contact or deal and the account it is filed under.
type filed struct {
	filedEntry
	account string
}

// storeAttempts is how many times StorePage re-reads and retries a page
// whose records another writer changed meanwhile (one sync at a time
// writes a source's records, so this is rare: a sync whose lease lapsed,
// a migration). Retries back off a random while, longer each time.
const storeAttempts = 20

// backoff waits before retry n (from 1) of a conflicting write: up to n
// milliseconds, or until ctx is done (its error).
func backoff(ctx context.Context, n int) error {
	wait, cancel := context.WithTimeout(ctx, time.Duration(rand.Int64N(int64(n)*int64(time.Millisecond))))
	defer cancel()
	<-wait.Done()
	return ctx.Err()
}

// StorePage stores a page of records atomically: it upserts every record
// of b, removes those b.Deleted lists, records the rejects and sets the
// source's watermark to wm (an empty wm clears it), all in one Lua script.
// The watermark can thus never be ahead of the stored records. While a
// sweep is open for the source (BeginSweep), the page's records are marked
// as seen. A contact or deal whose account changed leaves the old one.
func (s *Records) StorePage(ctx context.Context, source string, b model.Batch, rejects []model.Reject, wm connectors.Watermark) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: store page: %w", err)
	}
	p, err := encodePage(source, b, rejects)
	if err != nil {
		return fmt.Errorf("store: store page: %w", err)
	}
	return s.storeEncoded(ctx, source, &p, wm)
}

// storeEncoded stores an encoded page, planning it again after each
// conflicting write.
func (s *Records) storeEncoded(ctx context.Context, source string, p *page, wm connectors.Watermark) error {
	for n := range storeAttempts {
		if n > 0 {
			if err := backoff(ctx, n); err != nil {
				return fmt.Errorf("store: store page: %w", err)
			}
		}
		ch, err := s.planPage(ctx, source, p, wm)
		if err != nil {
			return fmt.Errorf("store: store page: %w", err)
		}
		if err = s.write(ctx, source, ch); !errors.Is(err, errConflict) {
			if err != nil {
				return fmt.Errorf("store: store page: %w", err)
			}
			return nil
		}
	}
	return fmt.Errorf("store: store page: %w %d times", errConflict, storeAttempts)
}

// planPage reads what the page touches and applies it, in the order the
// page gives: accounts, contacts, deals, owners, then deletions; the
// change sets the watermark to wm.
func (s *Records) planPage(ctx context.Context, source string, p *page, wm connectors.Watermark) (*change, error) {
	ch := newChange(len(p.readIDs), len(p.readFields))
	ids, packs, err := s.fetch(ctx, ch, source, p.readIDs, p.readFields)
	if err != nil {
		return nil, err
	}
	return s.planRead(ctx, ch, source, p, wm, nil, ids, packs)
}

// planRead is planPage once ch fetched the bundles (ids) and pointer packs the page
// touches: what it read is overlaid with the writes of after (PageWriter),
// and so is what it reads next.
func (s *Records) planRead(ctx context.Context, ch *change, source string, p *page, wm connectors.Watermark, after []*change, ids, packs []string) (*change, error) {
	ch.after, ch.wm, ch.setWM = after, wm, true
	if err := ch.overlay(ids, packs); err != nil {
		return nil, err
	}
	// The accounts the records were filed under, when they move or go.
	var olds []string
	for _, acct := range ch.ptrs {
		if acct != "" {
			olds = append(olds, acct)
		}
	}
	if err := s.read(ctx, ch, source, olds, nil); err != nil {
		return nil, err
	}
	for _, a := range p.accounts {
		ch.bundle(a.id).account = a.body
	}
	for _, c := range p.contacts {
		ch.file('c', c.account, c.filedEntry)
	}
	for _, d := range p.deals {
		ch.file('d', d.account, d.filedEntry)
	}
	ch.owners = p.owners
	for _, d := range p.deleted {
		switch d.Entity {
		case model.EntityAccount:
			ch.dropBundle(d.ID)
		case model.EntityContact, model.EntityDeal:
			kind := d.Entity[0]
			field := filedField(kind, d.ID)
			if old := ch.filedUnder(field); old != "" {
				ch.unfile(kind, old, d.ID)
			}
			ch.newPtrs[field] = ""
		case model.EntityOwner:
			ch.ownerDel = append(ch.ownerDel, d.ID)
		}
	}
	if ch.sweeping { // BeginSweep comes before a sync's first page
		ch.seen = p.seen
	}
	ch.rejects = p.rejects
	if err := s.readDrops(ctx, ch, source); err != nil { // a dropped account's contacts and deals
		return nil, err
	}
	ch.after = nil // read: changes do not chain
	return ch, nil
}

func encodePage(source string, b model.Batch, rejects []model.Reject) (page, error) {
	var p page
	ids := make(map[string]bool, len(b.Accounts)+len(b.Contacts)+len(b.Deals))
	want := func(id string) {
		if id != "" && !ids[id] {
			ids[id] = true
			p.readIDs = append(p.readIDs, id)
		}
	}
	for i := range b.Accounts {
		a := &b.Accounts[i]
		p.accounts = append(p.accounts, filedEntry{id: a.ID, body: encodeAccount(a)})
		want(a.ID)
		p.seen[0] = append(p.seen[0], a.ID)
	}
	for i := range b.Contacts {
		c := &b.Contacts[i]
		p.file('c', filed{filedEntry{c.ID, encodeContact(c)}, c.AccountID}, want)
	}
	for i := range b.Deals {
		d := &b.Deals[i]
		p.file('d', filed{filedEntry{d.ID, encodeDeal(d)}, d.AccountID}, want)
	}
	var err error
	for _, o := range b.Owners {
		data, e := json.Marshal(o)
		err = errors.Join(err, e)
		p.owners = append(p.owners, [2]string{o.ID, string(data)})
	}
	for _, d := range b.Deleted {
		switch d.Entity {
		case model.EntityAccount:
			want(d.ID)
		case model.EntityContact, model.EntityDeal:
			p.readFields = append(p.readFields, filedField(d.Entity[0], d.ID))
		}
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
		data, e := json.Marshal(r)
		err = errors.Join(err, e)
		p.rejects = append(p.rejects, data)
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
