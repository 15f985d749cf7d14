package store

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/crmsync/crmsync/model"
)

// An account's bundle is all the records filed under its id, in one value
// of the hash <ns>:records: the account's own record (when it is stored)
// and its contacts' and deals'. One value per account, instead of a key
// per record, is what keeps a million accounts within about a kilobyte
// each, and lets a pass read an account in one field.
//
//	token     8 bytes, new at every write: a write checks the token it read
//	          (writeScript), so two writers can never lose each other's work
//	version   1 byte, bundleVersion
//	account   string (codec.go), "" while only contacts or deals are filed
//	contacts  count, then per contact, by id: id, encoded contact
//	deals     count, then per deal, by id: id, encoded deal
//
// Lua never parses a bundle: the store builds them in Go and the scripts
// only check tokens and write, so a page costs Redis a few plain commands
// per record.
//
// Which account each contact and deal is filed under is kept too, so that
// a record that moves leaves its old account: <ns>:filed:<bucket> hashes,
// field "c<id>" or "d<id>", value the account id. Fields that differ only
// in their last byte share a bucket (filedBucket): ten consecutive CRM ids,
// which a page mostly reads and writes together. There are 1,048,576
// buckets, so that each holds about ten fields at a million accounts. A
// bucket is a listpack (Redis's compact encoding), which Redis searches
// field by field: its length is what a pointer's read or write costs.
// With 65,536 buckets (layout 5), a million accounts' pointers took half
// of what a sync cost Redis.

const (
	tokenLen      = 8
	bundleVersion = 1
)

// bundle is an account's records decoded to their entries.
type bundle struct {
	token    string // "" when none is stored
	account  string // the account's encoded record, "" when none
	contacts []filedEntry
	deals    []filedEntry
}

// filedEntry is a contact or deal in its account's bundle.
type filedEntry struct{ id, body string }

// parseBundle cuts a stored bundle into its entries.
func parseBundle(v string) (*bundle, error) {
	if len(v) < tokenLen+1 || v[tokenLen] != bundleVersion {
		return nil, fmt.Errorf("bundle: %w", errCorrupt)
	}
	r := rbuf{s: v[tokenLen+1:]}
	b := &bundle{token: v[:tokenLen], account: r.str()}
	b.contacts = r.entries()
	b.deals = r.entries()
	if err := r.done(); err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	return b, nil
}

func (r *rbuf) entries() []filedEntry {
	n := r.uvarint()
	if n == 0 || n > uint64(len(r.s)) {
		return nil
	}
	out := make([]filedEntry, n)
	for i := range out {
		out[i] = filedEntry{id: r.str(), body: r.str()}
	}
	return out
}

// empty reports whether nothing is filed under the bundle's id any more.
func (b *bundle) empty() bool {
	return b.account == "" && len(b.contacts) == 0 && len(b.deals) == 0
}

// encode returns the bundle as stored, with a new token.
func (b *bundle) encode() string {
	n := tokenLen + 16 + len(b.account)
	for _, l := range [][]filedEntry{b.contacts, b.deals} {
		for _, e := range l {
			n += len(e.id) + len(e.body) + 4
		}
	}
	out := make(wbuf, tokenLen, n)
	// A token tells writes apart; it guards nothing secret. The runtime's
	// generator (ChaCha8, seeded by the system) costs next to nothing;
	// crypto/rand took 2% of a sync's CPU.
	binary.LittleEndian.PutUint64(out, rand.Uint64())
	out.byte(bundleVersion)
	out.str(b.account)
	for _, l := range [][]filedEntry{b.contacts, b.deals} {
		out.uvarint(uint64(len(l)))
		for _, e := range l {
			out.str(e.id)
			out.str(e.body)
		}
	}
	return string(out)
}

// put files an entry, replacing the one with its id.
func put(l []filedEntry, e filedEntry) []filedEntry {
	i, found := slices.BinarySearchFunc(l, e.id, func(x filedEntry, id string) int { return cmp.Compare(x.id, id) })
	if found {
		l[i] = e
		return l
	}
	return slices.Insert(l, i, e)
}

// remove unfiles the entry with id, if there.
func remove(l []filedEntry, id string) []filedEntry {
	i, found := slices.BinarySearchFunc(l, id, func(x filedEntry, id string) int { return cmp.Compare(x.id, id) })
	if !found {
		return l
	}
	return slices.Delete(l, i, i+1)
}

// filedBuckets is how many hashes the filed pointers (their packs) are
// spread over.
const filedBuckets = 1 << 20

// filedField is the field of a contact's ('c') or deal's ('d') pointer.
func filedField(kind byte, id string) string { return string(kind) + id }

// filedBucket is the bucket of a pointer's field in layouts 6 and 7
// (<ns>:filed:<bucket>, which Migrate packs), five hex digits: its
// fieldHash modulo filedBuckets.
func filedBucket(field string) string { return bucketName(fieldHash(field) % filedBuckets) }

// bucketName is the name of bucket number h, five hex digits.
func bucketName(h uint32) string {
	const digits = "0123456789abcdef"
	var b [5]byte
	for i := len(b) - 1; i >= 0; i-- {
		b[i], h = digits[h&15], h>>4
	}
	return string(b[:])
}

// fieldHash is FNV-1a of s but its last byte, so that strings that
// differ only there share a bucket: the packs of a hundred consecutive
// CRM ids (packBucket), or the pointers of ten (layouts 6 and 7,
// filedBucket), which a page then reads or writes in one command.
func fieldHash(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s)-1; i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}

// client decodes the bundle of the account id: the account, its contacts
// and its deals, by id. A rep's "mark as contacted" (contacted) counts as
// the account's latest activity when it is later than what the CRM says.
func (b *bundle) client(id string, contacted time.Time) (model.Client, error) {
	var c model.Client
	if err := decodeAccount(id, b.account, &c.Account); err != nil {
		return c, fmt.Errorf("decode account: %w", err)
	}
	if contacted.After(c.Account.LastActivityAt) {
		c.Account.LastActivityAt = contacted
	}
	if len(b.contacts) > 0 {
		c.Contacts = make([]model.Contact, len(b.contacts))
		for i, e := range b.contacts {
			if err := decodeContact(e.id, id, e.body, &c.Contacts[i]); err != nil {
				return c, fmt.Errorf("decode contact %s: %w", e.id, err)
			}
		}
	}
	if len(b.deals) > 0 {
		c.Deals = make([]model.Deal, len(b.deals))
		for i, e := range b.deals {
			if err := decodeDeal(e.id, id, e.body, &c.Deals[i]); err != nil {
				return c, fmt.Errorf("decode deal %s: %w", e.id, err)
			}
		}
	}
	return c, nil
}
