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
