package insights

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/rules"
)

// SnapshotSize is the size in bytes of an encoded Snapshot.
const SnapshotSize = 13

// MaxSnapshotRules is how many rules a snapshot's Flags can tell apart.
const MaxSnapshotRules = 32

// Snapshot is what one account was at a month end, kept so that
// activity-based series (days_inactive, flags) can be charted later. It
// encodes in SnapshotSize bytes:
//
//	byte 0      lifecycle (2 bits: index in model.Lifecycles, other when
//	            unknown), class (2 bits: 1 A, 2 B, 3 C), pmg (2 bits: 1 small,
//	            2 medium, 3 large), 2 bits 0
//	byte 1      rfm r (high 4 bits), rfm f (low 4 bits)
//	byte 2      rfm m (high 4 bits), 4 bits 0
//	bytes 3-6   revenue_12m rounded to whole units, big-endian, 0 to 2^32-1
//	bytes 7-8   days_inactive, big-endian, 0 to 65535
//	bytes 9-12  Flags, big-endian
type Snapshot struct {
	Lifecycle model.Lifecycle
	Class     string // "A", "B", "C"
	PMG       string // "small", "medium", "large"
	R, F, M   uint8
	// Revenue12m is revenue_12m rounded to whole units, saturated at
	// math.MaxUint32.
	Revenue12m uint32
	// DaysInactive is saturated at math.MaxUint16.
	DaysInactive uint16
	// Flags has bit i set when the i-th rule of the month's rule list
	// flags the account (see FlagBits).
	Flags uint32
}

// NewSnapshot returns the snapshot of an account of lifecycle lc whose
// features (segmented) are f, flagged by the rules whose bits are flags.
func NewSnapshot(lc model.Lifecycle, f *rules.Features, flags uint32) Snapshot {
	return Snapshot{
		Lifecycle: lc, Class: f.ABC, PMG: f.PMG,
		R: uint8(min(max(f.RFM.R, 0), 15)), F: uint8(min(max(f.RFM.F, 0), 15)), M: uint8(min(max(f.RFM.M, 0), 15)),
		Revenue12m:   uint32(min(max(math.Round(f.Revenue12m), 0), math.MaxUint32)),
		DaysInactive: uint16(min(max(f.DaysInactive, 0), math.MaxUint16)),
		Flags:        flags,
	}
}

// FlagBits returns the Flags of an account flagged by the rules in
// flagged, bit i standing for names[i]; rules past MaxSnapshotRules are
// not recorded.
func FlagBits(names []string, flagged []string) uint32 {
	var bits uint32
	for i, n := range names[:min(len(names), MaxSnapshotRules)] {
		if slices.Contains(flagged, n) {
			bits |= 1 << i
		}
	}
	return bits
}

// MarshalBinary encodes s in SnapshotSize bytes.
func (s Snapshot) MarshalBinary() ([]byte, error) {
	return s.AppendBinary(make([]byte, 0, SnapshotSize))
}

// AppendBinary appends the snapshot, encoded as MarshalBinary does, to b:
// a pass encodes a batch's snapshots into one array.
func (s Snapshot) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, lifecycleCode(s.Lifecycle)<<6|byte(codeOf(s.Class, Classes[:]))<<4|byte(codeOf(s.PMG, Sizes[:]))<<2,
		s.R<<4|s.F&0x0f, s.M<<4)
	b = binary.BigEndian.AppendUint32(b, s.Revenue12m)
	b = binary.BigEndian.AppendUint16(b, s.DaysInactive)
	return binary.BigEndian.AppendUint32(b, s.Flags), nil
}

// errSnapshotSize reports an encoded snapshot of the wrong size.
var errSnapshotSize = errors.New("insights: snapshot: wrong size")

// UnmarshalBinary decodes a snapshot encoded by MarshalBinary.
func (s *Snapshot) UnmarshalBinary(b []byte) error {
	if len(b) != SnapshotSize {
		return fmt.Errorf("%w: %d bytes, want %d", errSnapshotSize, len(b), SnapshotSize)
	}
	*s = Snapshot{
		Lifecycle: model.Lifecycles[b[0]>>6],
		Class:     nameOf(int(b[0]>>4&3), Classes[:]),
		PMG:       nameOf(int(b[0]>>2&3), Sizes[:]),
		R:         b[1] >> 4, F: b[1] & 0x0f, M: b[2] >> 4,
		Revenue12m:   binary.BigEndian.Uint32(b[3:]),
		DaysInactive: binary.BigEndian.Uint16(b[7:]),
		Flags:        binary.BigEndian.Uint32(b[9:]),
	}
	return nil
}

// lifecycleCode returns the index of lc in model.Lifecycles, that of
// other when lc is not one.
func lifecycleCode(lc model.Lifecycle) byte {
	if i := slices.Index(model.Lifecycles, lc); i >= 0 {
		return byte(i)
	}
	return byte(slices.Index(model.Lifecycles, model.Other))
}

// codeOf returns 1 + the index of name in names, 0 when absent.
func codeOf(name string, names []string) int {
	return slices.Index(names, name) + 1
}

// nameOf returns the name of code (see codeOf), "" for 0.
func nameOf(code int, names []string) string {
	if code == 0 {
		return ""
	}
	return names[code-1]
}
