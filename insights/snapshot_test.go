package insights

import (
	"errors"
	"math"
	"testing"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/rules"
)

func TestSnapshotRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		lc   model.Lifecycle
		f    rules.Features
		bits uint32
		want Snapshot
		hex  string
	}{
		{"an A client", model.Customer, rules.Features{ABC: "A", PMG: "large", RFM: rules.RFM{R: 5, F: 4, M: 3}, Revenue12m: 123456.5, DaysInactive: 12}, 0b101,
			Snapshot{Lifecycle: model.Customer, Class: "A", PMG: "large", R: 5, F: 4, M: 3, Revenue12m: 123457, DaysInactive: 12, Flags: 5},
			"5c5430 0001e241 000c 00000005"},
		{"saturated", model.Former, rules.Features{ABC: "C", PMG: "small", RFM: rules.RFM{R: 1, F: 1, M: 1}, Revenue12m: 1e12, DaysInactive: 1 << 20}, math.MaxUint32,
			Snapshot{Lifecycle: model.Former, Class: "C", PMG: "small", R: 1, F: 1, M: 1, Revenue12m: math.MaxUint32, DaysInactive: math.MaxUint16, Flags: math.MaxUint32},
			"b41110 ffffffff ffff ffffffff"},
		{"unscored, unknown lifecycle", "lead", rules.Features{Revenue12m: -5}, 0,
			Snapshot{Lifecycle: model.Other},
			"c00000 00000000 0000 00000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSnapshot(tt.lc, &tt.f, tt.bits)
			b, err := s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if got := hexGroups(b); got != tt.hex {
				t.Errorf("encoded %s, want %s", got, tt.hex)
			}
			var back Snapshot
			if err := back.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if back != tt.want {
				t.Errorf("decoded %+v, want %+v", back, tt.want)
			}
		})
	}
}

// hexGroups prints an encoded snapshot as its four groups of bytes.
func hexGroups(b []byte) string {
	const digits = "0123456789abcdef"
	var out []byte
	for i, c := range b {
		if i == 3 || i == 7 || i == 9 {
			out = append(out, ' ')
		}
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestSnapshotWrongSize(t *testing.T) {
	var s Snapshot
	for _, n := range []int{0, SnapshotSize - 1, SnapshotSize + 1} {
		if err := s.UnmarshalBinary(make([]byte, n)); !errors.Is(err, errSnapshotSize) {
			t.Errorf("%d bytes: err = %v, want errSnapshotSize", n, err)
		}
	}
}

func TestFlagBits(t *testing.T) {
	many := make([]string, 40)
	for i := range many {
		many[i] = string(rune('a' + i))
	}
	tests := []struct {
		names, flagged []string
		want           uint32
	}{
		{[]string{"inactive-90-days", "high-value-churning"}, nil, 0},
		{[]string{"inactive-90-days", "high-value-churning"}, []string{"high-value-churning"}, 0b10},
		{[]string{"inactive-90-days", "high-value-churning"}, []string{"high-value-churning", "inactive-90-days", "gone"}, 0b11},
		{many, []string{"a", string(rune('a' + 31)), string(rune('a' + 32))}, 1 | 1<<31}, // the 33rd rule is not recorded
	}
	for _, tt := range tests {
		if got := FlagBits(tt.names, tt.flagged); got != tt.want {
			t.Errorf("FlagBits(%v, %v) = %b, want %b", tt.names, tt.flagged, got, tt.want)
		}
	}
}
