package store

import (
	"fmt"
	"testing"
)

// TestKnownIDs: every id added is known, through levels added as the
// filter fills; ids never added are claimed rarely.
func TestKnownIDs(t *testing.T) {
	tests := []struct {
		words, ids int
		levels     int
		maxFalse   float64 // share of ids never added that has claims
	}{
		{1 << 10, 1000, 1, 0.001},
		{1 << 10, 4096, 1, 0.01},      // full
		{1 << 10, 40000, 4, 0.03},     // 4,096 + 8,192 + 16,384, then more
		{knownLevelWords, 0, 1, 0},    // the default, empty
		{knownLevelWords, 1, 1, 1e-4}, // the default, one id
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d words, %d ids", tt.words, tt.ids), func(t *testing.T) {
			k := newKnownIDs(tt.words)
			for i := range tt.ids {
				k.add(fmt.Sprintf("crm:c%07d", i))
			}
			for i := range tt.ids {
				if id := fmt.Sprintf("crm:c%07d", i); !k.has(id) {
					t.Fatalf("%s added, not known", id)
				}
			}
			if len(k.levels) != tt.levels {
				t.Errorf("%d levels, want %d", len(k.levels), tt.levels)
			}
			claimed := 0
			const asked = 100000
			for i := range asked {
				if k.has(fmt.Sprintf("crm:d%07d", i)) {
					claimed++
				}
			}
			if share := float64(claimed) / asked; share > tt.maxFalse {
				t.Errorf("claims %.4f of the ids never added, want at most %.4f", share, tt.maxFalse)
			}
		})
	}
}
