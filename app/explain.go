package app

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// FormatFeatures writes feature values as sorted key=value pairs, the way
// explanations show them.
func FormatFeatures(f map[string]any) string {
	keys := slices.Sorted(maps.Keys(f))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := f[k]
		switch x := v.(type) {
		case nil:
			v = "none"
		case float64:
			v = strconv.FormatFloat(x, 'f', -1, 64)
			if x != math.Trunc(x) {
				v = strconv.FormatFloat(x, 'f', 2, 64)
			}
		}
		parts = append(parts, fmt.Sprintf("%s=%v", k, v))
	}
	return strings.Join(parts, " ")
}
