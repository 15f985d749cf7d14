package sendgrid

import (
	"errors"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/internal/sendgridfake"
	"github.com/crmsync/crmsync/notify"
)

func TestProbe(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(f *sendgridfake.Server)
		wantCreds bool   // a *notify.CredentialsError
		wantErr   string // "" for success
	}{
		{name: "a key that may send"},
		{name: "a revoked key", setup: func(f *sendgridfake.Server) { f.SetAPIKey("SG.another") },
			wantCreds: true, wantErr: "401 Unauthorized: " + sendgridfake.UnauthorizedMessage},
		{name: "a key without Mail Send", setup: func(f *sendgridfake.Server) { f.SetScopes("suppression.read") },
			wantCreds: true, wantErr: "lacks the Mail Send permission"},
		{name: "SendGrid down", setup: func(f *sendgridfake.Server) { f.Close() }, wantErr: "sendgrid scopes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := sendgridfake.New(t, fakeKey)
			if tt.setup != nil {
				tt.setup(f)
			}
			err := newSender(t, testConfig(f.URL())).Probe(t.Context())
			if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Probe = %v, want an error with %q", err, tt.wantErr)
			}
			if cred, ok := errors.AsType[*notify.CredentialsError](err); ok != tt.wantCreds || ok && cred.Fix == "" {
				t.Errorf("credentials error = %v (%v), want %v with a fix", ok, err, tt.wantCreds)
			}
			if err != nil && strings.Contains(err.Error(), fakeKey) {
				t.Errorf("error %q leaks the API key", err)
			}
		})
	}
}

// TestProbeThenSend follows a key that SendGrid stops accepting, then
// accepts again: sends fail as credential errors (the channel pauses)
// while the probe says so, and both work once the key is right again.
func TestProbeThenSend(t *testing.T) {
	f := sendgridfake.New(t, fakeKey)
	s := newSender(t, testConfig(f.URL()))
	f.SetAPIKey("SG.rotated")
	if err := s.Send(t.Context(), localMessage()); !errors.Is(err, notify.ErrCredentials) || errors.Is(err, notify.ErrPermanent) {
		t.Fatalf("Send with a revoked key = %v, want a credentials error, not a permanent one", err)
	}
	if err := s.Probe(t.Context()); !errors.Is(err, notify.ErrCredentials) {
		t.Fatalf("Probe with a revoked key = %v", err)
	}
	f.SetAPIKey(fakeKey)
	if err := s.Probe(t.Context()); err != nil {
		t.Fatalf("Probe with the key back = %v", err)
	}
	if err := s.Send(t.Context(), localMessage()); err != nil {
		t.Fatalf("Send with the key back = %v", err)
	}
	if f.Accepted() != 1 || f.Probes() != 2 {
		t.Fatalf("accepted %d, probes %d; want 1 and 2", f.Accepted(), f.Probes())
	}
}

func TestSendFromUnverifiedSender(t *testing.T) {
	f := sendgridfake.New(t, fakeKey)
	f.VerifySenders("someone-else@example.com")
	cfg := testConfig(f.URL())
	cfg.Sandbox = false
	err := newSender(t, cfg).Send(t.Context(), localMessage())
	cred, ok := errors.AsType[*notify.CredentialsError](err)
	if !ok || !strings.Contains(cred.Reason, "verified Sender Identity") || !strings.Contains(cred.Fix, "Sender Authentication") {
		t.Fatalf("Send from an unverified sender = %v, want a credentials error naming the sender identity", err)
	}
}
