package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"
)

// The filed pointers (layout 8) are packed: the pointers of the fields
// that differ only in their last byte (ten consecutive CRM ids, mostly)
// are one hash field, their prefix, whose value lists each one's last
// byte and account (a pack). The packs live in <ns>:ptrs:<bucket>
// hashes, the bucket picked by the prefix but its last byte, so that a
// hundred consecutive ids share a bucket: a page writes its pointers in
// a few commands of a few fields each, where a field per pointer in a
// bucket per ten ids cost a million-account sync 577,000 HSETs of 5.7
// million fields (a third of Redis's time).

// packPrefix is the pack of a pointer's field: all but its last byte.
func packPrefix(field string) string { return field[:len(field)-1] }

// packBucket is the bucket of a pack, five hex digits: the FNV-1a of its
// prefix but its last byte, modulo filedBuckets.
func packBucket(prefix string) string { return bucketName(fieldHash(prefix) % filedBuckets) }

// packEntry is a pointer of a pack: its field's last byte, its account.
type packEntry struct {
	last    byte
	account string
}

// encodePack packs es, ordered by last byte, in the records' codec
// (codec.go); "" for none.
func encodePack(es []packEntry) string {
	if len(es) == 0 {
		return ""
	}
	slices.SortFunc(es, func(a, b packEntry) int { return cmp.Compare(a.last, b.last) })
	var b wbuf
	for _, e := range es {
		b.byte(e.last)
		b.str(e.account)
	}
	return string(b)
}

// errBadPack is a pack that does not decode.
var errBadPack = errors.New("malformed pointer pack")

// eachInPack calls fn with each pointer of the pack v until fn returns
// false.
func eachInPack(v string, fn func(e packEntry) bool) error {
	r := rbuf{s: v}
	for r.s != "" && r.err == nil {
		e := packEntry{last: r.byte()}
		if e.account = r.str(); r.err == nil && !fn(e) {
			return nil
		}
	}
	if r.err != nil {
		return errBadPack
	}
	return nil
}

// decodePack returns the pointers of the pack v.
func decodePack(v string) ([]packEntry, error) {
	var es []packEntry
	err := eachInPack(v, func(e packEntry) bool {
		es = append(es, e)
		return true
	})
	return es, err
}

// packLookup is the account of the pointer whose field ends in last in
// the pack v, "" for none.
func packLookup(v string, last byte) (acct string, err error) {
	err = eachInPack(v, func(e packEntry) bool {
		if e.last == last {
			acct = e.account
		}
		return e.last != last
	})
	return acct, err
}

// packWrite is a pack a change writes: what it was read as, what it
// becomes ("" when it goes).
type packWrite struct{ bucket, prefix, read, value string }

// layPacks lays out the packs the change's pointers edit: each pack read
// (ch.packs) with the change's new pointers and drops applied, in
// ch.writtenPacks too.
func (ch *change) layPacks() ([]packWrite, error) {
	edits := map[string][]string{} // prefix → fields
	for f, v := range ch.newPtrs {
		if v != ch.ptrs[f] {
			edits[packPrefix(f)] = append(edits[packPrefix(f)], f)
		}
	}
	for f := range ch.drops {
		if _, ok := ch.newPtrs[f]; !ok {
			edits[packPrefix(f)] = append(edits[packPrefix(f)], f)
		}
	}
	ch.writtenPacks = make(map[string]string, len(edits))
	var out []packWrite
	for prefix, fields := range edits {
		read, ok := ch.packs[prefix]
		if !ok {
			return nil, fmt.Errorf("pointer pack %q edited but not read", prefix)
		}
		es, err := decodePack(read)
		if err != nil {
			return nil, fmt.Errorf("pointer pack %q: %w", prefix, err)
		}
		for _, f := range fields {
			es = ch.editPack(es, f)
		}
		v := encodePack(es)
		ch.writtenPacks[prefix] = v
		if v != read {
			out = append(out, packWrite{packBucket(prefix), prefix, read, v})
		}
	}
	return out, nil
}

// editPack applies the change's pointer of field f to the pack es: its
// new account, or its drop if it still points where it was dropped from.
func (ch *change) editPack(es []packEntry, f string) []packEntry {
	last := f[len(f)-1]
	i := slices.IndexFunc(es, func(e packEntry) bool { return e.last == last })
	v, isNew := ch.newPtrs[f]
	if !isNew {
		if i < 0 || es[i].account != ch.drops[f] {
			return es
		}
		v = ""
	}
	switch {
	case v == "" && i >= 0:
		return slices.Delete(es, i, i+1)
	case v == "":
		return es
	case i >= 0:
		es[i].account = v
		return es
	}
	return append(es, packEntry{last, v})
}

// readDrops reads the packs of the pointers the change drops that it has
// not read: a dropped account's contacts and deals, a sweep's.
func (s *Records) readDrops(ctx context.Context, ch *change, source string) error {
	var fields []string
	for f := range ch.drops {
		if _, ok := ch.packs[packPrefix(f)]; !ok {
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return s.read(ctx, ch, source, nil, fields)
}

// packFilled converts the filed pointers of layouts 6 and 7 (a field per
// pointer in <ns>:filed:<bucket>) into packs, bucket by bucket: every
// pointer of a pack was in one such bucket. A pack that exists already
// (written by a newer sync) is kept.
func (s *Records) packFilled(ctx context.Context) error {
	return s.scanIDs(ctx, "filed", func(ctx context.Context, buckets []string) error {
		cmds := make([]*redis.MapStringStringCmd, len(buckets))
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, b := range buckets {
				cmds[i] = p.HGetAll(ctx, s.key("filed", b))
			}
			return nil
		})
		if err != nil {
			return err
		}
		packs := map[string][]packEntry{}
		for _, c := range cmds {
			for f, acct := range c.Val() {
				if len(f) > 1 {
					packs[packPrefix(f)] = append(packs[packPrefix(f)], packEntry{f[len(f)-1], acct})
				}
			}
		}
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for prefix, es := range packs {
				p.HSetNX(ctx, s.key("ptrs", packBucket(prefix)), prefix, encodePack(es))
			}
			for _, b := range buckets {
				p.Unlink(ctx, s.key("filed", b))
			}
			return nil
		})
		return err
	})
}
