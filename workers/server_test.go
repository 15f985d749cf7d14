package workers

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/crmsync/crmsync/notify"
)

func TestRetryDelayAndIsFailure(t *testing.T) {
	limited := &notify.RateLimitError{Provider: "slack", Scope: "#sales", After: 7 * time.Second}
	tests := []struct {
		name     string
		n        int
		err      error
		min, max time.Duration
		failure  bool
	}{
		{"rate limit waits as asked", 3, limited, 7 * time.Second, 8 * time.Second, false},
		{"rate limit inside a batch's joined errors", 0, fmt.Errorf("deliver slack: 1 of 2 failed: %w", errors.Join(errors.New("x"), limited)), 7 * time.Second, 8 * time.Second, false},
		{"paused channel waits as asked", 5, &PausedError{Channel: notify.Slack, Reason: "invalid_auth", After: 30 * time.Second}, 30 * time.Second, 31 * time.Second, false},
		{"paused channel inside a batch's joined errors", 0, fmt.Errorf("deliver slack: 1 of 50 failed, 49 not attempted: %w",
			errors.Join(&PausedError{Channel: notify.Slack, After: 30 * time.Second})), 30 * time.Second, 31 * time.Second, false},
		{"other errors back off", 3, errors.New("503"), 8 * time.Second, 8 * time.Second, true},
		{"capped at an hour", 20, errors.New("503"), time.Hour, time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := RetryDelay(tt.n, tt.err, nil); d < tt.min || d > tt.max {
				t.Errorf("RetryDelay = %v, want in [%v, %v]", d, tt.min, tt.max)
			}
			if got := IsFailure(tt.err); got != tt.failure {
				t.Errorf("IsFailure = %v, want %v", got, tt.failure)
			}
		})
	}
}
