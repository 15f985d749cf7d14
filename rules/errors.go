package rules

import "fmt"

// Error is one problem found in a rule file, located at the line and
// column (both 1-based, counted in characters) of the offending text.
type Error struct {
	File string
	Line int
	Col  int
	Msg  string
}

// Error formats e as FILE:LINE:COL: message, or FILE: message when the
// problem has no position (the file cannot be read).
func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Errors returns every *Error in err, which may be a single *Error or a
// tree of joined and wrapped errors such as LoadFiles returns.
func Errors(err error) []*Error {
	switch e := err.(type) {
	case *Error:
		return []*Error{e}
	case interface{ Unwrap() []error }:
		var out []*Error
		for _, inner := range e.Unwrap() {
			out = append(out, Errors(inner)...)
		}
		return out
	case interface{ Unwrap() error }:
		return Errors(e.Unwrap())
	}
	return nil
}

// suggest returns the candidate closest to name, or "" when none is close
// enough to be a plausible typo.
func suggest(name string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		d := levenshtein(name, c)
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist < 0 || bestDist > max(2, len(name)/3) || bestDist >= len(name) {
		return ""
	}
	return best
}

// levenshtein returns the edit distance between a and b, in bytes.
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
