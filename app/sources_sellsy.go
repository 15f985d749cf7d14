package app

import (
	"context"
	"log/slog"
	"strconv"

	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/connectors/sellsy"
)

// newSellsy builds a sellsy source's connector: client credentials, or a
// refresh token whose rotations the store keeps; the periodic full read
// opens a sweep of the source's records.
func newSellsy(ctx context.Context, s config.Source, tokens refreshTokens, sw sweeps, log *slog.Logger) (connectors.Connector, error) {
	a := s.Auth
	auth := sellsy.Auth{ClientID: a.ClientID, ClientSecret: a.ClientSecret.Reveal(), TokenURL: a.TokenURL}
	if a.Flow() == config.FlowRefreshToken {
		rt, onRotate, err := latestRefreshToken(ctx, s, tokens, log)
		if err != nil {
			return nil, err
		}
		auth.RefreshToken, auth.OnRotate = rt, onRotate
	}
	reserve, _ := strconv.Atoi(s.Limits.DailyReserve) // validated by config; "" is 0
	wonRescan := s.Limits.WonRescan
	if wonRescan == 0 {
		wonRescan = -1 // "0s": no rescan (config fills the default)
	}
	opts := sellsy.Options{
		Source:       s.Name,
		AccountID:    s.AccountID,
		BaseURL:      s.BaseURL,
		Auth:         auth,
		Mapping:      mapping(s.Fields),
		FullEvery:    s.Limits.FullEvery,
		WonRescan:    wonRescan,
		DailyReserve: reserve,
		Logger:       log,
	}
	opts.BeginSweep = beginSweep(sw, s.Name)
	return sellsy.New(opts)
}
