package config

import (
	"strconv"
	"strings"
	"time"
)

// Defaults of a sellsy source.
const (
	// DefaultSellsyFullEvery is how often a sellsy source reads
	// everything again to find deletions.
	DefaultSellsyFullEvery = 7 * 24 * time.Hour
	// MinSellsyFullEvery is the shortest full_every: a full read spends
	// a good share of the account's quota.
	MinSellsyFullEvery = time.Hour
	// DefaultSellsyWonRescan is how far back a sellsy source reads again
	// the opportunities whose status changed.
	DefaultSellsyWonRescan = 30 * 24 * time.Hour
)

// sellsyKeys are the keys only a sellsy source takes.
var sellsyKeys = []string{"account_id", "limits.full_every", "limits.won_rescan"}

func validateSellsy(d *document, p string, s *Source) {
	onlyFor(d, p, "salesforce", "login_url", "api_version", "path")
	onlyFor(d, p, "dynamics", "auth.tenant_id", "auth.certificate", "auth.certificate_file", "auth.scope")
	onlyFor(d, p, "monday", mondayKeys...)
	unusedLimits(d, p, "sellsy: it takes daily_reserve, full_every and won_rescan", "burst", "search_per_second", "requests_per_5min")
	switch {
	case s.AccountID == "":
		d.addf(p+".account_id", "required for source type sellsy: the Sellsy account's number (Settings, Account), which scopes record ids")
	case strings.Trim(s.AccountID, "0123456789") != "":
		d.addf(p+".account_id", "want the Sellsy account's number, got %q", s.AccountID)
	}
	if s.BaseURL != "" && isHTTPURL(s.BaseURL) && !isOrgURL(s.BaseURL) {
		d.addf(p+".base_url", "want the API host over https, such as https://api.sellsy.com, got %q", s.BaseURL)
	}
	validateSellsyAuth(d, p, s)
	if r := s.Limits.DailyReserve; r != "" {
		if n, err := strconv.Atoi(r); err != nil || n < 0 {
			d.addf(p+".limits.daily_reserve", "want a number of requests for sellsy, got %q", r)
		}
	}
	switch fe := s.Limits.FullEvery; {
	case !d.has(p + ".limits.full_every"):
		s.Limits.FullEvery = DefaultSellsyFullEvery
	case fe < MinSellsyFullEvery:
		d.addf(p+".limits.full_every", "want at least %s (a full read spends much of the quota), got %s", FormatDuration(MinSellsyFullEvery), FormatDuration(fe))
	}
	switch wr := s.Limits.WonRescan; {
	case !d.has(p + ".limits.won_rescan"):
		s.Limits.WonRescan = DefaultSellsyWonRescan
	case wr < 0:
		d.addf(p+".limits.won_rescan", "must not be negative, got %s", FormatDuration(wr))
	}
	if pc := s.Fields.PrimaryContact; pc != nil && (pc.AssociationLabel != "" || pc.Property != "") {
		d.addf(p+".fields.primary_contact", "sellsy takes field (a company field holding the contact's id, such as main_contact_id)")
	}
	validateFields(d, p, s)
}

func validateSellsyAuth(d *document, p string, s *Source) {
	a := s.Auth
	flow := a.Flow()
	switch flow {
	case "":
		d.addf(p+".auth", "required for source type sellsy: client_id and client_secret (a personal API client), with refresh_token for a private or public client")
		return
	case FlowClientCredentials:
		needAuth(d, p, a, flow, "client_id")
	case FlowRefreshToken:
		needAuth(d, p, a, flow, "client_id", "client_secret")
	default:
		d.addf(p+".auth", "sellsy takes client credentials (client_id, client_secret) or a refresh token (client_id, client_secret, refresh_token), not %s", flow)
	}
	unusedAuth(d, p, "sellsy", a, "token", "username", "private_key", "audience")
	checkTokenURL(d, p, a, "https://login.sellsy.com/oauth2/access-tokens")
}
