package workers

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"

	"github.com/crmsync/crmsync/notify"
)

// A staged head is encoded compactly: a pass over a million accounts
// stages and reads back about a hundred thousand of them, and decoding
// them as JSON took a third of a second of the pass's last, single-core
// step. The encoding is headVersion, then the rule, account and class as
// length-prefixed strings, the revenue's IEEE 754 bits (8 bytes, big
// endian), a byte of flags, and the channels and ledger keys, each a count
// then length-prefixed strings (lengths and counts as uvarints). A head
// that starts with '{' was staged as JSON by an earlier crmsync.

// headVersion is the first byte of a compactly encoded head.
const headVersion = 1

// Flag bits of an encoded head.
const (
	headCooldown  = 1 << 0
	headInhibited = 1 << 1
)

// errHeadCorrupt reports a staged head that does not decode.
var errHeadCorrupt = errors.New("staged head: corrupt")

// appendHead appends h, encoded, to b.
func appendHead(b []byte, h *stagedHead) []byte {
	b = append(b, headVersion)
	b = appendHeadString(b, h.Rule)
	b = appendHeadString(b, h.Account)
	b = appendHeadString(b, h.ABC)
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(h.Revenue))
	var flags byte
	if h.Cooldown {
		flags |= headCooldown
	}
	if h.Inhibited {
		flags |= headInhibited
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(h.Channels)))
	for _, ch := range h.Channels {
		b = appendHeadString(b, string(ch))
	}
	b = binary.AppendUvarint(b, uint64(len(h.Keys)))
	for _, k := range h.Keys {
		b = appendHeadString(b, k)
	}
	return b
}

func appendHeadString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// decodeHead decodes a head encoded by appendHead, or staged as JSON.
func decodeHead(b []byte, h *stagedHead) error {
	if len(b) > 0 && b[0] == '{' {
		return json.Unmarshal(b, h)
	}
	if len(b) == 0 || b[0] != headVersion {
		return errHeadCorrupt
	}
	r := headReader{b: b[1:]}
	*h = stagedHead{Rule: r.str(), Account: r.str(), ABC: r.str()}
	h.Revenue = math.Float64frombits(r.uint64())
	flags := r.byte()
	h.Cooldown, h.Inhibited = flags&headCooldown != 0, flags&headInhibited != 0
	if n := r.count(); n > 0 {
		h.Channels = make([]notify.Channel, n)
		for i := range h.Channels {
			h.Channels[i] = notify.Channel(r.str())
		}
	}
	if n := r.count(); n > 0 {
		h.Keys = make([]string, n)
		for i := range h.Keys {
			h.Keys[i] = r.str()
		}
	}
	if r.bad || len(r.b) != 0 {
		return errHeadCorrupt
	}
	return nil
}

// headReader reads an encoded head; bad is set once a read overruns it.
type headReader struct {
	b   []byte
	bad bool
}

func (r *headReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a count of strings, each at least a byte long.
func (r *headReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.bad, r.b = true, nil
		return 0
	}
	return int(n)
}

func (r *headReader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.bad, r.b = true, nil
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *headReader) uint64() uint64 {
	if len(r.b) < 8 {
		r.bad, r.b = true, nil
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *headReader) byte() byte {
	if len(r.b) < 1 {
		r.bad = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}
