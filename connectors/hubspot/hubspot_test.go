package hubspot

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/hubspotfake"
	"github.com/crmsync/crmsync/internal/waitfor"
	"github.com/crmsync/crmsync/model"
)

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	ok := Options{Source: "hs", Auth: Auth{Token: "t"}}
	tests := []struct {
		name   string
		change func(*Options)
		errHas string // "" when valid
	}{
		{"private token", func(*Options) {}, ""},
		{"oauth", func(o *Options) { o.Auth = Auth{ClientID: "id", ClientSecret: "s", RefreshToken: "r"} }, ""},
		{"no source", func(o *Options) { o.Source = " " }, "source: required"},
		{"no auth", func(o *Options) { o.Auth = Auth{} }, "a private-app token or an OAuth app"},
		{"both", func(o *Options) { o.Auth.ClientID = "id" }, "both set"},
		{"partial oauth", func(o *Options) { o.Auth = Auth{ClientID: "id"} }, "OAuth needs a client secret and a refresh token"},
		{"base url", func(o *Options) { o.BaseURL = "api.hubapi.com" }, "not an http(s) URL"},
		{"page size", func(o *Options) { o.PageSize = 101 }, "page size 101"},
		{"lifecycle", func(o *Options) { o.Mapping.Lifecycle.Map = map[string]model.Lifecycle{"x": "vip"} }, `lifecycle "vip"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := ok
			tt.change(&o)
			_, err := New(o)
			switch {
			case tt.errHas == "" && err != nil:
				t.Errorf("New: %v", err)
			case tt.errHas != "" && (err == nil || !strings.Contains(err.Error(), tt.errHas) || !strings.HasPrefix(err.Error(), "hubspot: ")):
				t.Errorf("New = %v, want an error with %q", err, tt.errHas)
			}
		})
	}
}

func TestPullPrefetchesAtMostOnePage(t *testing.T) {
	t.Parallel()
	f := newFake(t, hubspotfake.Options{})
	f.Seed(600, 0, 0)
	c := newConnector(t, f, nil)
	list := hubspotfake.ObjectsPath(hubspotfake.Companies)
	calls := 0
	err := c.Pull(context.Background(), nil, func(_ context.Context, p connectors.Page) error {
		if len(p.Accounts) == 0 {
			return nil
		}
		calls++
		if calls > 1 {
			return errors.New("enough")
		}
		// while page 1 is being stored, page 2 is fetched, and no more
		waitfor.Within(5*time.Second, func() (bool, string) { return f.Count(list) >= 2, "" })
		time.Sleep(50 * time.Millisecond)
		if n := f.Count(list); n != 2 {
			t.Errorf("%d list pages requested while page 1 is stored, want 2", n)
		}
		return nil
	})
	if err == nil || err.Error() != "enough" {
		t.Fatalf("Pull = %v", err)
	}
}

func TestPullEndsPromptlyOnFnErrorOrCancel(t *testing.T) {
	t.Parallel()
	errStop := errors.New("disk full")
	tests := []struct {
		name string
		fn   func(cancel context.CancelFunc, page int) error
		want error
	}{
		{"fn error", func(_ context.CancelFunc, page int) error {
			if page == 3 {
				return errStop
			}
			return nil
		}, errStop},
		{"cancelled", func(cancel context.CancelFunc, page int) error {
			if page == 3 {
				cancel()
			}
			return nil
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, hubspotfake.Options{})
			f.Seed(1000, 1, 1)
			c := newConnector(t, f, nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			page := 0
			start := time.Now()
			err := c.Pull(ctx, nil, func(context.Context, connectors.Page) error {
				page++
				return tt.fn(cancel, page)
			})
			if !errors.Is(err, tt.want) {
				t.Errorf("Pull = %v, want %v", err, tt.want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Pull took %v to stop", d)
			}
			if n := c.running.Load(); n != 0 {
				t.Errorf("%d producers still running after Pull returned", n)
			}
			if page > 4 {
				t.Errorf("fn called %d times after the stop", page-3)
			}
		})
	}
}

func TestPullOwnersFollowOpaqueCursors(t *testing.T) {
	t.Parallel()
	f := newFake(t, hubspotfake.Options{})
	for i := range 230 {
		f.AddOwner(hubspotfake.Owner{ID: string(rune('a'+i%26)) + strings.Repeat("x", i/26), Email: "o@example.com"})
	}
	c := newConnector(t, f, nil)
	got := merge(mustPull(t, c, nil))
	if len(got.owners) != 230 {
		t.Errorf("got %d owners, want 230", len(got.owners))
	}
	reqs := requests(f, hubspotfake.OwnersPath)
	if len(reqs) != 4 { // 3 pages of active owners, 1 of deactivated ones
		t.Errorf("%d owners requests, want 4", len(reqs))
	}
}
