package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/csv"
	"github.com/crmsync/crmsync/connectors/dynamics"
	"github.com/crmsync/crmsync/connectors/hubspot"
	"github.com/crmsync/crmsync/connectors/salesforce"
	"github.com/crmsync/crmsync/model"
)

// refreshTokens keeps the refresh tokens CRMs rotate (the store).
type refreshTokens interface {
	RefreshToken(ctx context.Context, source, configured string) (string, error)
	SaveRefreshToken(ctx context.Context, source, configured, token string) error
}

// sweeps opens a sweep of a source's records (the store), for connectors
// that re-read a source in full after losing track of its deletions.
type sweeps interface {
	BeginSweepIfStored(ctx context.Context, source string, at time.Time) (bool, error)
}

// beginSweep is the hook a connector calls before it re-reads source in
// full (nil when sw is): it opens a sweep of source's records unless the
// store holds none of them (store.Records.BeginSweepIfStored).
func beginSweep(sw sweeps, source string) func(context.Context, time.Time) error {
	if sw == nil {
		return nil
	}
	return func(ctx context.Context, at time.Time) error {
		_, err := sw.BeginSweepIfStored(ctx, source, at)
		return err
	}
}

// buildConnectors builds one connector per configured source. With tokens
// and sw nil (config check) rotated refresh tokens are neither read nor
// kept, and no sweep is opened.
func buildConnectors(ctx context.Context, cfg *config.Config, tokens refreshTokens, sw sweeps, log *slog.Logger) (map[string]connectors.Connector, error) {
	out := map[string]connectors.Connector{}
	var errs []error
	for _, s := range cfg.Sources {
		l := log.With("source", s.Name)
		var c connectors.Connector
		var err error
		switch s.Type {
		case "csv":
			c, err = newCSV(s, sw, l)
		case "dynamics":
			c, err = newDynamics(s, sw, l)
		case "hubspot":
			c, err = newHubSpot(ctx, s, tokens, l)
		case "monday":
			c, err = newMonday(s, sw, l)
		case "salesforce":
			c, err = newSalesforce(ctx, s, tokens, l)
		case "sellsy":
			c, err = newSellsy(ctx, s, tokens, sw, l)
		default:
			err = fmt.Errorf("unknown source type %q", s.Type)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("source %s: %w", s.Name, err))
			continue
		}
		out[s.Name] = c
	}
	return out, errors.Join(errs...)
}

// CheckSources builds every source's connector without touching the
// network, so that credentials that cannot work (a private key that is not
// PEM RSA) fail at `config check`.
func CheckSources(cfg *config.Config) error {
	_, err := buildConnectors(context.Background(), cfg, nil, nil, slog.New(slog.DiscardHandler))
	return err
}

// newCSV builds a csv source's connector with the format of its files.
func newCSV(s config.Source, sw sweeps, log *slog.Logger) (connectors.Connector, error) {
	format, err := csv.ParseFormat(s.Delimiter, s.Encoding, s.DateFormat, s.Decimal) // validated by config
	if err != nil {
		return nil, err
	}
	c := csv.New(s.Name, os.DirFS(s.Path), log)
	c.Format = format
	c.BeginSweep = beginSweep(sw, s.Name)
	return c, nil
}

func newHubSpot(ctx context.Context, s config.Source, tokens refreshTokens, log *slog.Logger) (connectors.Connector, error) {
	a := s.Auth
	auth := hubspot.Auth{Token: a.Token.Reveal(), ClientID: a.ClientID, ClientSecret: a.ClientSecret.Reveal()}
	if a.Flow() == config.FlowRefreshToken {
		rt, onRotate, err := latestRefreshToken(ctx, s, tokens, log)
		if err != nil {
			return nil, err
		}
		auth.RefreshToken, auth.OnRotate = rt, onRotate
	}
	reserve := 0 // the connector's default
	if r := s.Limits.DailyReserve; r != "" {
		reserve, _ = strconv.Atoi(r) // validated by config
		if reserve == 0 {
			reserve = -1 // "0": no reserve
		}
	}
	return hubspot.New(hubspot.Options{
		Source:          s.Name,
		BaseURL:         s.BaseURL,
		Auth:            auth,
		Mapping:         mapping(s.Fields),
		Burst:           s.Limits.Burst,
		SearchPerSecond: s.Limits.SearchPerSecond,
		DailyReserve:    reserve,
		Logger:          log,
	})
}

func newSalesforce(ctx context.Context, s config.Source, tokens refreshTokens, log *slog.Logger) (connectors.Connector, error) {
	a := s.Auth
	auth := salesforce.Auth{
		ClientID: a.ClientID, ClientSecret: a.ClientSecret.Reveal(),
		Username: a.Username, PrivateKey: []byte(a.PrivateKey.Reveal()), Audience: a.Audience,
	}
	if a.Flow() == config.FlowRefreshToken {
		rt, onRotate, err := latestRefreshToken(ctx, s, tokens, log)
		if err != nil {
			return nil, err
		}
		auth.RefreshToken, auth.OnRotate = rt, onRotate
	}
	var reserve float64 // 0: the connector's default
	if r := s.Limits.DailyReserve; r != "" {
		reserve, _ = config.ParseShare(r) // validated by config
		if reserve == 0 {
			reserve = -1 // "0%": no reserve
		}
	}
	return salesforce.New(salesforce.Options{
		Source:       s.Name,
		LoginURL:     s.LoginURL,
		APIVersion:   s.APIVersion,
		Auth:         auth,
		Mapping:      mapping(s.Fields),
		DailyReserve: reserve,
		Logger:       log,
	})
}

func newDynamics(s config.Source, sw sweeps, log *slog.Logger) (connectors.Connector, error) {
	a := s.Auth
	opts := dynamics.Options{
		Source:     s.Name,
		BaseURL:    s.BaseURL,
		APIVersion: s.APIVersion,
		Auth: dynamics.Auth{
			TenantID: a.TenantID, ClientID: a.ClientID, ClientSecret: a.ClientSecret.Reveal(),
			Certificate: []byte(a.Certificate.Reveal()), PrivateKey: []byte(a.PrivateKey.Reveal()),
			TokenURL: a.TokenURL, Scope: a.Scope,
		},
		Mapping:         mapping(s.Fields),
		RequestsPer5Min: s.Limits.RequestsPer5Min,
		Logger:          log,
	}
	opts.BeginSweep = beginSweep(sw, s.Name)
	return dynamics.New(opts)
}

// latestRefreshToken returns the refresh token to start from (a rotated
// one when the store has it) and the hook that keeps the next rotations.
func latestRefreshToken(ctx context.Context, s config.Source, tokens refreshTokens, log *slog.Logger) (string, func(context.Context, string), error) {
	configured := s.Auth.RefreshToken.Reveal()
	if tokens == nil {
		return configured, nil, nil
	}
	rt, err := tokens.RefreshToken(ctx, s.Name, configured)
	if err != nil {
		return "", nil, err
	}
	onRotate := func(ctx context.Context, token string) {
		if err := tokens.SaveRefreshToken(ctx, s.Name, configured, token); err != nil {
			log.Error("cannot keep the rotated refresh token; the next start may need a new one", "err", err)
		}
	}
	return rt, onRotate, nil
}

// mapping turns a source's fields section into the connector's mapping;
// what it leaves zero takes the connector's defaults.
func mapping(f config.Fields) connectors.Mapping {
	m := connectors.Mapping{LastActivity: f.LastActivityAt, Extra: f.Extra}
	if lc := f.Lifecycle; lc != nil {
		m.Lifecycle.Field = lc.Field
		m.Lifecycle.Map = make(map[string]model.Lifecycle, len(lc.Map))
		for k, v := range lc.Map {
			m.Lifecycle.Map[k] = model.Lifecycle(v)
		}
	}
	if pc := f.PrimaryContact; pc != nil {
		m.PrimaryContact = connectors.PrimaryContactMapping{Property: pc.Property, Field: pc.Field, AssociationLabel: pc.AssociationLabel}
	}
	if l := f.Language; l != nil {
		m.Language = connectors.LanguageMapping{Contact: l.Contact, Account: l.Account}
	}
	return m
}
