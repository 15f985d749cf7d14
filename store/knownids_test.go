package store

import (
	"fmt"
	"testing"
)

// TestKnownIDs: every id added is known, through levels added as the
// filter fills; ids never added are claimed rarely. Each filter draws its
// own hash seed, so the share claimed varies from one to the next (by
// about a tenth of itself at one in a hundred): the test measures it over
// several filters, where the bound is five deviations above the mean.
func TestKnownIDs(t *testing.T) {
	tests := []struct {
		words, ids int
		levels     int
		filters    int     // measured
		maxFalse   float64 // share of ids never added that has claims
	}{
		{1 << 10, 1000, 1, 8, 0.001},
		{1 << 10, 4096, 1, 8, 0.01},      // full
		{1 << 10, 40000, 4, 8, 0.03},     // 4,096 + 8,192 + 16,384, then more
		{knownLevelWords, 0, 1, 1, 0},    // the default, empty
		{knownLevelWords, 1, 1, 1, 1e-4}, // the default, one id
	}
	const asked = 100000
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d words, %d ids", tt.words, tt.ids), func(t *testing.T) {
			claimed := 0
			for range tt.filters {
				k := filledKnownIDs(t, tt.words, tt.ids)
				if len(k.levels) != tt.levels {
					t.Fatalf("%d levels, want %d", len(k.levels), tt.levels)
				}
				for i := range asked {
					if k.has(fmt.Sprintf("crm:d%07d", i)) {
						claimed++
					}
				}
			}
			if share := float64(claimed) / float64(tt.filters*asked); share > tt.maxFalse {
				t.Errorf("claims %.4f of the ids never added, want at most %.4f", share, tt.maxFalse)
			}
		})
	}
}

// filledKnownIDs returns a filter of words words holding ids numbered
// ids, after checking it knows each.
func filledKnownIDs(t *testing.T, words, ids int) *knownIDs {
	t.Helper()
	k := newKnownIDs(words)
	for i := range ids {
		k.add(fmt.Sprintf("crm:c%07d", i))
	}
	for i := range ids {
		if id := fmt.Sprintf("crm:c%07d", i); !k.has(id) {
			t.Fatalf("%s added, not known", id)
		}
	}
	return k
}
