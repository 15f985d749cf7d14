package connectors

import (
	"errors"
	"fmt"
	"time"
)

// StopError ends a pull that cannot go on for now, typically because the
// CRM's daily API allocation is spent. Every page before it was stored
// with its watermark, so the next sync resumes there, never from zero.
type StopError struct {
	Reason string    // what the CRM said, for humans
	Resume time.Time // when trying again makes sense; zero when unknown
}

func (e *StopError) Error() string {
	if e.Resume.IsZero() {
		return "stopped: " + e.Reason
	}
	return fmt.Sprintf("stopped: %s; resume after %s", e.Reason, e.Resume.UTC().Format(time.RFC3339))
}

// AsStop returns the StopError in err's chain, if any.
func AsStop(err error) (*StopError, bool) {
	var s *StopError
	ok := errors.As(err, &s)
	return s, ok
}

// ErrAuth marks errors caused by credentials the CRM refuses (wrong,
// revoked or lacking a scope): retrying will not help until someone acts.
var ErrAuth = errors.New("crm refused the credentials")
