package crmhttp

import (
	"log/slog"
	"net/http"
	"testing"
	"time"
)

func TestFillDefaults(t *testing.T) {
	given := &http.Client{Timeout: time.Second}
	logger := slog.Default()
	clock := func() time.Time { return time.Unix(42, 0) }
	tests := []struct {
		name   string
		client *http.Client
		logger *slog.Logger
		now    func() time.Time
		kept   bool // the given values stay
	}{
		{name: "nil fields get defaults"},
		{name: "set fields are kept", client: given, logger: logger, now: clock, kept: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, lg, now := tt.client, tt.logger, tt.now
			FillDefaults(&client, time.Minute, &lg, &now)
			if client == nil || lg == nil || now == nil {
				t.Fatalf("client %v, logger %v, now set %t: want all set", client, lg, now != nil)
			}
			if tt.kept {
				if client != given || lg != logger || !now().Equal(time.Unix(42, 0)) {
					t.Errorf("FillDefaults replaced a value it was given")
				}
				return
			}
			if client.Timeout != time.Minute || lg.Enabled(t.Context(), slog.LevelError) || time.Since(now()) > time.Minute {
				t.Errorf("defaults: timeout %s, logger enabled %t, now %s; want 1m, a discarding logger, time.Now",
					client.Timeout, lg.Enabled(t.Context(), slog.LevelError), now())
			}
		})
	}
}
