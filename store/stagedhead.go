package store

import (
	"encoding/json"
	"fmt"

	"github.com/crmsync/crmsync/notify"
)

// StagedHead is what the per_pass stage keeps of a match until the pass's
// last shard picks what goes: what it ranks and defers by (the match, its
// value, its cooldown and the channels of its messages), and what the
// messages of a match that goes are planned again from: their ledger
// keys, which the rails let through at shard time, and whether a more
// urgent rule inhibited its Slack actions.
//
// A pass over a million accounts stages and reads back about a hundred
// thousand heads, so they are encoded as records are (codec.go), not as
// JSON: headVersion, the rule, account and class, the revenue, a byte of
// flags, then the channels and the ledger keys, each a count then
// strings. A head that starts with '{' was staged as JSON, with the tags
// below, by an earlier crmsync.
type StagedHead struct {
	Rule      string           `json:"r"`
	Account   string           `json:"a"`
	ABC       string           `json:"c"`
	Revenue   float64          `json:"v"`
	Channels  []notify.Channel `json:"m,omitempty"`
	Cooldown  bool             `json:"k,omitempty"` // the pass took the match's cooldown
	Keys      []string         `json:"l,omitempty"`
	Inhibited bool             `json:"i,omitempty"`
	// CooldownDue: the match's cooldown was free at shard time, and the
	// pass takes it if the match goes.
	CooldownDue bool `json:"d,omitempty"`
}

// headVersion is the first byte of a head encoded by MarshalBinary.
const headVersion = 1

// Flag bits of an encoded head.
const (
	headCooldown    = 1 << 0
	headInhibited   = 1 << 1
	headCooldownDue = 1 << 2
)

// MarshalBinary encodes h compactly.
func (h *StagedHead) MarshalBinary() ([]byte, error) {
	b := wbuf{headVersion}
	b.str(h.Rule)
	b.str(h.Account)
	b.str(h.ABC)
	b.float(h.Revenue)
	var flags byte
	if h.Cooldown {
		flags |= headCooldown
	}
	if h.Inhibited {
		flags |= headInhibited
	}
	if h.CooldownDue {
		flags |= headCooldownDue
	}
	b.byte(flags)
	b.uvarint(uint64(len(h.Channels)))
	for _, ch := range h.Channels {
		b.str(string(ch))
	}
	b.uvarint(uint64(len(h.Keys)))
	for _, k := range h.Keys {
		b.str(k)
	}
	return b, nil
}

// UnmarshalBinary decodes a head encoded by MarshalBinary, or staged as
// JSON by an earlier crmsync.
func (h *StagedHead) UnmarshalBinary(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		return json.Unmarshal(b, h)
	}
	if len(b) == 0 || b[0] != headVersion {
		return fmt.Errorf("staged head: %w", errCorrupt)
	}
	r := rbuf{s: string(b[1:])}
	*h = StagedHead{Rule: r.str(), Account: r.str(), ABC: r.str(), Revenue: r.float()}
	flags := r.byte()
	h.Cooldown, h.Inhibited, h.CooldownDue = flags&headCooldown != 0, flags&headInhibited != 0, flags&headCooldownDue != 0
	for range r.count() {
		h.Channels = append(h.Channels, notify.Channel(r.str()))
	}
	for range r.count() {
		h.Keys = append(h.Keys, r.str())
	}
	if err := r.done(); err != nil {
		return fmt.Errorf("staged head: %w", err)
	}
	return nil
}
