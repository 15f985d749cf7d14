package slack

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/slackfake"
	"github.com/crmsync/crmsync/notify"
)

// keyed is a Slack message to to under ledger key key.
func keyed(to, key string) *notify.Message {
	m := message(to, "Acme went quiet")
	m.LedgerKey = key
	return m
}

func TestPostCarriesLedgerKey(t *testing.T) {
	f := newFakeSlack(t)
	s := newTestSender(t, f, nil)
	if err := s.Send(t.Context(), keyed("C0KEY", "rule|crm:1|slack|C0KEY|p1")); err != nil {
		t.Fatal(err)
	}
	posts := f.Posts()
	if len(posts) != 1 || posts[0].Metadata == nil {
		t.Fatalf("posts = %+v, want one with metadata", posts)
	}
	md := posts[0].Metadata
	if md.EventType != MetadataEventType || md.EventPayload[MetadataLedgerKey] != "rule|crm:1|slack|C0KEY|p1" {
		t.Fatalf("metadata = %+v", md)
	}
	if err := s.Send(t.Context(), message("C0KEY", "no key")); err != nil || f.Posts()[1].Metadata != nil {
		t.Fatalf("a message without a ledger key: %v, metadata %+v", err, f.Posts()[1].Metadata)
	}
}

func TestFind(t *testing.T) {
	const key = "inactive|crm:1|slack|x|p1"
	tests := []struct {
		name      string
		setup     func(t *testing.T, f *slackfake.Server, s *Sender)
		sinceNow  bool // look from after the setup, not from a minute before
		to        string
		want      bool
		wantErr   error // notify.ErrPermanent (cannot tell), notify.ErrCredentials
		wantInErr string
	}{
		{name: "posted in the rep's DM", to: "sam@example.com", want: true, setup: post("sam@example.com", key)},
		{name: "posted in a channel", to: "C0KEY", want: true, setup: post("C0KEY", key)},
		{name: "posted in a channel by name", to: "#key-accounts", want: true, setup: post("#key-accounts", key)},
		{name: "posted in the fallback channel (no Slack account)", to: "nobody@example.com", want: true, setup: post("nobody@example.com", key)},
		{name: "never posted", to: "C0KEY", setup: post("C0KEY", "another key")},
		{name: "posted before since", to: "C0KEY", sinceNow: true, setup: func(t *testing.T, f *slackfake.Server, s *Sender) {
			post("C0KEY", key)(t, f, s)
			time.Sleep(2 * time.Millisecond)
		}},
		{name: "someone else's message with the same key", to: "C0KEY", setup: func(t *testing.T, f *slackfake.Server, s *Sender) {
			f.Inject("C0KEY", "spoof", "other_app_event", map[string]any{MetadataLedgerKey: key})
		}},
		{name: "three pages of history later", to: "C0KEY", want: true, setup: func(t *testing.T, f *slackfake.Server, s *Sender) {
			post("C0KEY", key)(t, f, s)
			for i := range 2*historyPage + 50 {
				f.Inject("C0KEY", fmt.Sprint("chatter ", i), "", nil)
			}
		}},
		{name: "a channel on the second page of the list", to: "#late-channel", want: true, setup: func(t *testing.T, f *slackfake.Server, s *Sender) {
			for i := range listPage + 10 {
				f.AddChannels(fmt.Sprintf("#filler-%03d", i))
			}
			f.AddChannels("#late-channel")
			post("#late-channel", key)(t, f, s)
		}},
		{name: "a private channel", to: "#deals", want: true, setup: func(t *testing.T, f *slackfake.Server, s *Sender) {
			f.AddPrivateChannel("G0DEALS", "deals")
			post("#deals", key)(t, f, s)
		}},
		{name: "no im:history", to: "sam@example.com", setup: scopesOnly("chat:write", "users:read.email", "im:write"),
			wantErr: notify.ErrPermanent, wantInErr: "needed: im:history"},
		{name: "no channels:read for a #name", to: "#key-accounts", setup: scopesOnly("chat:write", "channels:history"),
			wantErr: notify.ErrPermanent, wantInErr: "needed: channels:read"},
		{name: "a channel gone", to: "C0GONE", wantErr: notify.ErrPermanent, wantInErr: "channel_not_found"},
		{name: "a #name nowhere", to: "#nowhere", wantErr: notify.ErrPermanent, wantInErr: "no channel #nowhere"},
		{name: "a revoked token", to: "C0KEY", setup: func(t *testing.T, f *slackfake.Server, s *Sender) { f.SetToken("xoxb-new") },
			wantErr: notify.ErrCredentials, wantInErr: "invalid_auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSlack(t)
			s := newTestSender(t, f, nil)
			since := time.Now().Add(-time.Minute)
			if tt.setup != nil {
				tt.setup(t, f, s)
			}
			if tt.sinceNow {
				since = time.Now()
			}
			found, err := s.Find(t.Context(), keyed(tt.to, key), since)
			if found != tt.want || (err == nil) != (tt.wantErr == nil) || err != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Find = %v, %v; want %v, %v", found, err, tt.want, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("err %q does not say %q", err, tt.wantInErr)
			}
			if tt.wantErr == notify.ErrPermanent && errors.Is(err, notify.ErrCredentials) {
				t.Errorf("a lookup that cannot tell pauses the channel: %v", err)
			}
			noSecret(t, err)
		})
	}
}

// post posts a message to to under key, as an earlier attempt did.
func post(to, key string) func(t *testing.T, f *slackfake.Server, s *Sender) {
	return func(t *testing.T, f *slackfake.Server, s *Sender) {
		t.Helper()
		if err := s.Send(t.Context(), keyed(to, key)); err != nil {
			t.Fatal(err)
		}
	}
}

func scopesOnly(list ...string) func(t *testing.T, f *slackfake.Server, s *Sender) {
	return func(t *testing.T, f *slackfake.Server, s *Sender) { f.SetScopes(list...) }
}

func TestFindCachesChannelNames(t *testing.T) {
	f := newFakeSlack(t)
	s := newTestSender(t, f, nil)
	for range 3 {
		if _, err := s.Find(t.Context(), keyed("#key-accounts", "k"), time.Now().Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.Calls("/conversations.list"); n != 1 {
		t.Errorf("conversations.list called %d times, want 1 (cached)", n)
	}
}

func TestSlackProbe(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(f *slackfake.Server)
		wantCreds bool
		wantErr   string
	}{
		{name: "a working token"},
		{name: "a revoked token", setup: func(f *slackfake.Server) { f.SetToken("xoxb-new") }, wantCreds: true, wantErr: "invalid_auth"},
		{name: "a token without chat:write", setup: func(f *slackfake.Server) { f.SetScopes("users:read") },
			wantCreds: true, wantErr: "lacks the scope chat:write"},
		{name: "Slack down", setup: func(f *slackfake.Server) { f.SetStatus("/auth.test", 503) }, wantErr: "503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSlack(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			err := newTestSender(t, f, nil).Probe(t.Context())
			if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Probe = %v, want an error with %q", err, tt.wantErr)
			}
			if cred, ok := errors.AsType[*notify.CredentialsError](err); ok != tt.wantCreds || ok && cred.Fix == "" {
				t.Errorf("credentials error = %v (%v), want %v", ok, err, tt.wantCreds)
			}
			if f.Calls("/auth.test") != 1 {
				t.Errorf("auth.test called %d times", f.Calls("/auth.test"))
			}
		})
	}
}
