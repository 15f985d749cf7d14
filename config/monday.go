package config

import (
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Defaults of a monday source.
const (
	DefaultMondayBaseURL    = "https://api.monday.com"
	DefaultMondayAPIVersion = "2025-07"
	// DefaultMondayFullEvery is how often a monday source reads every
	// board again, inside a sweep, to remove items deleted without an
	// activity-log entry.
	DefaultMondayFullEvery = DefaultSellsyFullEvery
)

// MondayBoards names a monday source's three CRM boards.
type MondayBoards struct {
	Accounts *MondayBoard `yaml:"accounts"`
	Contacts *MondayBoard `yaml:"contacts"`
	Deals    *MondayBoard `yaml:"deals"`
}

// MondayBoard is a board's id (the number in its URL) and the columns
// playing each role, by column id; roles left out take the CRM
// template's (connectors/monday DefaultColumns). Won lists the deal
// stage labels meaning won (deals only; default Won).
type MondayBoard struct {
	ID      string            `yaml:"id"`
	Columns map[string]string `yaml:"columns"`
	Won     []string          `yaml:"won"`
}

// mondayKeys are the keys only a monday source takes.
var mondayKeys = []string{"boards", "limits.daily_calls"}

// MondayRoles lists the column roles of each board.
var MondayRoles = map[string][]string{
	"accounts": {"domain", "owner"},
	"contacts": {"account", "email", "opt_out", "phone", "title"},
	"deals":    {"account", "close_date", "stage", "value"},
}

var (
	mondayAPIVersion = regexp.MustCompile(`^20[0-9]{2}-(0[1-9]|1[0-2])$`)
	mondayBoardID    = regexp.MustCompile(`^[0-9]{1,20}$`)
	mondayColumnID   = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,63}$`)
)

func validateMonday(d *document, p string, s *Source) {
	onlyFor(d, p, "salesforce", "login_url", "path")
	onlyFor(d, p, "dynamics", dynamicsKeys...)
	onlyFor(d, p, "sellsy", "account_id", "limits.won_rescan")
	unusedLimits(d, p, "monday: it takes daily_calls and full_every", "burst", "search_per_second", "daily_reserve")
	if s.BaseURL != "" && isHTTPURL(s.BaseURL) && !isOrgURL(s.BaseURL) {
		d.addf(p+".base_url", "want the API host over https, such as %s, got %q", DefaultMondayBaseURL, s.BaseURL)
	}
	if s.APIVersion == "" {
		s.APIVersion = DefaultMondayAPIVersion
	} else if !mondayAPIVersion.MatchString(s.APIVersion) {
		d.addf(p+".api_version", "invalid API version %q (want the form %s)", s.APIVersion, DefaultMondayAPIVersion)
	}
	validateMondayAuth(d, p, s)
	if s.Limits.DailyCalls < 0 {
		d.addf(p+".limits.daily_calls", "want the plan's daily call limit (200, 1000, 10000 or 25000), or 0, got %d", s.Limits.DailyCalls)
	}
	switch fe := s.Limits.FullEvery; {
	case !d.has(p + ".limits.full_every"):
		s.Limits.FullEvery = DefaultMondayFullEvery
	case fe < MinSellsyFullEvery:
		d.addf(p+".limits.full_every", "want at least %s (a full read spends many of the day's calls), got %s", FormatDuration(MinSellsyFullEvery), FormatDuration(fe))
	}
	validateMondayBoards(d, p, s.Boards)
	if pc := s.Fields.PrimaryContact; pc != nil && pc.AssociationLabel != "" {
		d.addf(p+".fields.primary_contact.association_label", "association labels are a hubspot feature: use field (an account connect-boards column) or property (a contact checkbox column)")
	}
	validateFields(d, p, s)
	validateMondayFields(d, p, s.Fields)
}

func validateMondayAuth(d *document, p string, s *Source) {
	a := s.Auth
	switch flow := a.Flow(); flow {
	case "":
		if !d.hasFailed(p + ".auth.token_file") {
			d.addf(p+".auth", "required for source type monday: token (a personal API token, or an OAuth app's access token)")
		}
		return
	case FlowToken:
	default:
		d.addf(p+".auth", "monday takes a token (a personal API token, or an OAuth app's access token), not %s", flow)
	}
	unusedAuth(d, p, "monday", a, "client_id", "client_secret", "refresh_token", "username", "private_key", "audience", "tenant_id", "certificate")
	for k, v := range map[string]string{"token_url": a.TokenURL, "scope": a.Scope} {
		if v != "" {
			d.addf(p+".auth."+k, "not used by source type monday")
		}
	}
}

func validateMondayBoards(d *document, p string, b *MondayBoards) {
	bp := p + ".boards"
	if b == nil {
		d.addf(bp, "required for source type monday: the ids of the accounts, contacts and deals boards (the number in a board's URL)")
		return
	}
	boards := map[string]*MondayBoard{"accounts": b.Accounts, "contacts": b.Contacts, "deals": b.Deals}
	names := make([]string, 0, len(boards))
	for name := range boards {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		board, path := boards[name], bp+"."+name
		switch {
		case board == nil:
			d.addf(path, "required: the %s board's id", name)
			continue
		case board.ID == "":
			d.addf(path+".id", "required: the number in the board's URL (/boards/1234567890)")
		case !mondayBoardID.MatchString(board.ID):
			d.addf(path+".id", "want the number in the board's URL (/boards/1234567890), got %q", board.ID)
		}
		for role, col := range board.Columns {
			if !slices.Contains(MondayRoles[name], role) {
				d.addf(childPath(path+".columns", role), "unknown role %q for the %s board (want %s)", role, name, strings.Join(MondayRoles[name], ", "))
			} else if !mondayColumnID.MatchString(col) {
				d.addf(childPath(path+".columns", role), "invalid column id %q (want an id such as deal_stage or status_1: see crmsync sources describe)", col)
			}
		}
		if len(board.Won) > 0 && name != "deals" {
			d.addf(path+".won", "only the deals board takes won")
		}
		for i, l := range board.Won {
			if strings.TrimSpace(l) == "" {
				d.addf(indexPath(path+".won", i), "must not be empty")
			}
		}
	}
}

// validateMondayFields checks that mapped fields are column ids.
func validateMondayFields(d *document, p string, f Fields) {
	eachMappedField(p, f, func(path, name string) {
		if name != "" && fieldName.MatchString(name) && !mondayColumnID.MatchString(name) {
			d.addf(path, "invalid column id %q: want an id in lower case, such as status_1 (see crmsync sources describe)", name)
		}
	})
}
