package store

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/model"
)

// Records are stored in a compact binary form, not JSON: no field names,
// and no ids the key already gives (a record's source and external id
// when they make its id, a contact's or deal's account id). It takes
// about a third of the JSON's bytes and decodes without reflection.
// Every string is a uvarint length then its bytes; every time is
// timeEnc's; an amount is its float64 bits, so nothing is rounded.

// wbuf builds an encoded value.
type wbuf []byte

func (b *wbuf) uvarint(v uint64) { *b = binary.AppendUvarint(*b, v) }

func (b *wbuf) str(s string) {
	b.uvarint(uint64(len(s)))
	*b = append(*b, s...)
}

func (b *wbuf) byte(c byte) { *b = append(*b, c) }

func (b *wbuf) float(f float64) { *b = binary.LittleEndian.AppendUint64(*b, math.Float64bits(f)) }

// Times: 0 for the zero time; else 1 (UTC) or 2 (another offset), the
// unix seconds (varint), the nanoseconds (uvarint) and, for 2, the offset
// in seconds (varint).
func (b *wbuf) time(t time.Time) {
	if t.IsZero() {
		b.byte(0)
		return
	}
	_, off := t.Zone()
	utc := off == 0
	if utc {
		b.byte(1)
	} else {
		b.byte(2)
	}
	*b = binary.AppendVarint(*b, t.Unix())
	b.uvarint(uint64(t.Nanosecond()))
	if !utc {
		*b = binary.AppendVarint(*b, int64(off))
	}
}

// errCorrupt is a stored value that does not decode.
var errCorrupt = errors.New("corrupt record")

// rbuf reads an encoded value. Strings it returns share the value's
// memory. The first error sticks: check err once at the end.
type rbuf struct {
	s   string
	err error
}

func (r *rbuf) fail() {
	if r.err == nil {
		r.err = errCorrupt
	}
	r.s = ""
}

func (r *rbuf) uvarint() uint64 {
	var v uint64
	for i := 0; i < len(r.s) && i < binary.MaxVarintLen64; i++ {
		c := r.s[i]
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			r.s = r.s[i+1:]
			return v
		}
	}
	r.fail()
	return 0
}

func (r *rbuf) varint() int64 {
	u := r.uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

func (r *rbuf) str() string {
	n := r.uvarint()
	if n > uint64(len(r.s)) {
		r.fail()
		return ""
	}
	v := r.s[:n]
	r.s = r.s[n:]
	return v
}

// count reads how many items follow, each at least a byte long: a count
// beyond what is left is corrupt.
func (r *rbuf) count() int {
	n := r.uvarint()
	if n > uint64(len(r.s)) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *rbuf) byte() byte {
	if len(r.s) == 0 {
		r.fail()
		return 0
	}
	c := r.s[0]
	r.s = r.s[1:]
	return c
}

func (r *rbuf) float() float64 {
	if len(r.s) < 8 {
		r.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64([]byte(r.s[:8]))
	r.s = r.s[8:]
	return math.Float64frombits(v)
}

func (r *rbuf) time() time.Time {
	kind := r.byte()
	if kind == 0 {
		return time.Time{}
	}
	sec := r.varint()
	ns := int64(r.uvarint())
	t := time.Unix(sec, ns)
	switch kind {
	case 1:
		return t.UTC()
	case 2: // as encoding/json decodes an offset: local when it is the local one
		off := int(r.varint())
		if _, local := t.Zone(); local == off {
			return t
		}
		return t.In(time.FixedZone("", off))
	}
	r.fail()
	return time.Time{}
}

// ref encodes what an id does not give of a record's Ref: nothing (0)
// when the id is "source:external" (model.ID), else the three.
func (b *wbuf) ref(r model.Ref) {
	if model.ID(r.Source, r.ExternalID) == r.ID && !strings.Contains(r.Source, ":") {
		b.byte(0)
		return
	}
	b.byte(1)
	b.str(r.ID)
	b.str(r.Source)
	b.str(r.ExternalID)
}

func (r *rbuf) ref(id string) model.Ref {
	if r.byte() == 0 {
		src, ext, _ := strings.Cut(id, ":")
		return model.Ref{ID: id, Source: src, ExternalID: ext}
	}
	return model.Ref{ID: r.str(), Source: r.str(), ExternalID: r.str()}
}

// encodeAccount encodes an account's record.
func encodeAccount(a *model.Account) string {
	b := make(wbuf, 0, 256)
	b.ref(a.Ref)
	for _, s := range []string{a.Name, a.Domain, a.OwnerID, a.PrimaryContactID, string(a.Lifecycle), a.TimeZone, a.Language, a.URL} {
		b.str(s)
	}
	b.time(a.CreatedAt)
	b.time(a.LastActivityAt)
	b.time(a.UpdatedAt)
	keys := make([]string, 0, len(a.Extra))
	for k := range a.Extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b.uvarint(uint64(len(keys)))
	for _, k := range keys {
		b.str(k)
		b.str(a.Extra[k])
	}
	b.uvarint(uint64(len(a.Sources)))
	for _, s := range a.Sources {
		b.str(s.ID)
		b.str(s.Source)
		b.str(s.ExternalID)
	}
	return string(b)
}

// decodeAccount decodes the account id's record.
func decodeAccount(id, v string, a *model.Account) error {
	return decodeAccountExtra(id, v, a, true)
}

// decodeAccountExtra decodes the account id's record, its Extra fields
// only when extra is set: a map per account is most of what decoding
// costs, and a pass whose rules do not read account has no use for it.
func decodeAccountExtra(id, v string, a *model.Account, extra bool) error {
	r := rbuf{s: v}
	*a = model.Account{Ref: r.ref(id)}
	for _, p := range []*string{&a.Name, &a.Domain, &a.OwnerID, &a.PrimaryContactID, (*string)(&a.Lifecycle), &a.TimeZone, &a.Language, &a.URL} {
		*p = r.str()
	}
	a.CreatedAt = r.time()
	a.LastActivityAt = r.time()
	a.UpdatedAt = r.time()
	if n := r.uvarint(); n > 0 && n <= uint64(len(r.s)) {
		if extra {
			a.Extra = make(map[string]string, n)
		}
		for range n {
			k, v := r.str(), r.str()
			if extra {
				a.Extra[k] = v
			}
		}
	}
	if n := r.uvarint(); n > 0 && n <= uint64(len(r.s)) {
		a.Sources = make([]model.Ref, n)
		for i := range a.Sources {
			a.Sources[i] = model.Ref{ID: r.str(), Source: r.str(), ExternalID: r.str()}
		}
	}
	return r.done()
}

// done is the decoder's error, or errCorrupt when bytes are left over.
func (r *rbuf) done() error {
	if r.err == nil && r.s != "" {
		r.err = errCorrupt
	}
	return r.err
}

// A contact's encoding starts with its last activity and a deal's with
// whether it is won, its close date and its amount: what the features
// read (Summary) without decoding the rest.

func encodeContact(c *model.Contact) string {
	b := make(wbuf, 0, 128)
	b.time(c.LastActivityAt)
	b.ref(c.Ref)
	for _, s := range []string{c.FirstName, c.LastName, c.Email, c.Phone, c.Title, c.TimeZone, c.Language} {
		b.str(s)
	}
	var flags byte
	if c.OptOut {
		flags |= 1
	}
	if c.Primary {
		flags |= 2
	}
	b.byte(flags)
	b.time(c.UpdatedAt)
	return string(b)
}

// decodeContact decodes the contact id filed under account.
func decodeContact(id, account, v string, c *model.Contact) error {
	r := rbuf{s: v}
	last := r.time()
	*c = model.Contact{Ref: r.ref(id), AccountID: account, LastActivityAt: last}
	for _, p := range []*string{&c.FirstName, &c.LastName, &c.Email, &c.Phone, &c.Title, &c.TimeZone, &c.Language} {
		*p = r.str()
	}
	flags := r.byte()
	c.OptOut, c.Primary = flags&1 != 0, flags&2 != 0
	c.UpdatedAt = r.time()
	return r.done()
}

func encodeDeal(d *model.Deal) string {
	b := make(wbuf, 0, 96)
	var flags byte
	if d.Won {
		flags = 1
	}
	b.byte(flags)
	b.time(d.ClosedAt)
	b.float(d.Amount)
	b.ref(d.Ref)
	b.str(d.Name)
	b.str(d.Currency)
	b.time(d.UpdatedAt)
	return string(b)
}

// decodeDeal decodes the deal id filed under account.
func decodeDeal(id, account, v string, d *model.Deal) error {
	r := rbuf{s: v}
	won := r.byte() == 1
	closed := r.time()
	amount := r.float()
	*d = model.Deal{Ref: r.ref(id), AccountID: account, Won: won, ClosedAt: closed, Amount: amount}
	d.Name = r.str()
	d.Currency = r.str()
	d.UpdatedAt = r.time()
	return r.done()
}
