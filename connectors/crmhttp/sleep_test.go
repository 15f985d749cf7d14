package crmhttp

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
)

func TestSleep(t *testing.T) {
	tests := []struct {
		name    string
		cancel  bool
		d       time.Duration
		wantErr error
	}{
		{name: "waits out d", d: time.Millisecond},
		{name: "stops when ctx is done", cancel: true, d: time.Hour, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reasons []string
			ctx, cancel := context.WithCancel(connectors.WithTrace(t.Context(), &connectors.Trace{
				Wait: func(reason string, d time.Duration) { reasons = append(reasons, reason) },
			}))
			defer cancel()
			if tt.cancel {
				cancel()
			}
			if err := Sleep(ctx, "quota", tt.d); !errors.Is(err, tt.wantErr) {
				t.Errorf("Sleep = %v, want %v", err, tt.wantErr)
			}
			if len(reasons) != 1 || reasons[0] != "quota" {
				t.Errorf("trace heard %q, want one wait for quota", reasons)
			}
		})
	}
}
