package workers

import (
	"fmt"
	"time"
)

// RetryLater is a task's "not now": nothing failed, the task must run
// again after After (another sync of the source holds its lock; a pass
// waits for a sync to commit). It does not count against the task's
// retry budget and is never dead-lettered.
type RetryLater struct {
	Reason string
	After  time.Duration
}

func (e *RetryLater) Error() string { return fmt.Sprintf("%s; again in %s", e.Reason, e.After) }
