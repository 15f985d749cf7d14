package config

import (
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/model"
)

// Source types' defaults.
const (
	DefaultSalesforceLoginURL   = "https://login.salesforce.com"
	DefaultSalesforceAPIVersion = "v66.0"
	DefaultDynamicsAPIVersion   = "v9.2"
	// DefaultDynamicsRequestsPer5Min is 90% of Dataverse's
	// service-protection limit, MaxDynamicsRequestsPer5Min.
	DefaultDynamicsRequestsPer5Min = 5400
	MaxDynamicsRequestsPer5Min     = 6000
)

var dynamicsAPIVersion = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)

// dynamicsField is a Dataverse column's logical name, or a lookup's
// _name_value property.
var dynamicsField = regexp.MustCompile(`^[a-z][a-z0-9_]*$|^_[a-z][a-z0-9_]*_value$`)

// lookupValue is a Dataverse lookup property (_name_value), the one
// field name that may start with "_".
var lookupValue = regexp.MustCompile(`^_[a-z][a-z0-9_]*_value$`)

var apiVersion = regexp.MustCompile(`^v[0-9]{2,3}\.[0-9]$`)

func validateCSV(d *document, p string, s *Source) {
	if s.Path == "" {
		d.addf(p+".path", "required for source type csv")
	}
	for _, key := range []string{"auth", "fields", "limits", "login_url", "api_version", "base_url", "account_id", "boards"} {
		if d.has(p + "." + key) {
			d.addf(p+"."+key, "not supported by source type csv")
		}
	}
}

func validateHubSpot(d *document, p string, s *Source) {
	onlyFor(d, p, "sellsy", sellsyKeys...)
	onlyFor(d, p, "monday", mondayKeys...)
	onlyFor(d, p, "salesforce", "login_url", "api_version", "path")
	onlyFor(d, p, "dynamics", dynamicsKeys...)
	switch flow := s.Auth.Flow(); flow {
	case "":
		d.addf(p+".auth", "required for source type hubspot: a private app token (auth.token) or OAuth (auth.client_id, auth.client_secret, auth.refresh_token)")
	case FlowToken:
		extraAuth(d, p, s.Auth, flow, "client_id", "client_secret", "refresh_token", "username", "private_key", "audience")
	case FlowRefreshToken:
		needAuth(d, p, s.Auth, flow, "client_id", "client_secret")
		extraAuth(d, p, s.Auth, flow, "username", "private_key", "audience")
	default:
		d.addf(p+".auth", "hubspot takes a private app token (auth.token) or OAuth (auth.client_id, auth.client_secret, auth.refresh_token), not %s", flow)
	}
	if s.Limits.Burst < 0 || s.Limits.Burst > 1000 {
		d.addf(p+".limits.burst", "want the requests allowed per 10 seconds (100, 110, 190 or 250), got %d", s.Limits.Burst)
	}
	if s.Limits.SearchPerSecond < 0 {
		d.addf(p+".limits.search_per_second", "must not be negative, got %d", s.Limits.SearchPerSecond)
	}
	if r := s.Limits.DailyReserve; r != "" {
		if n, err := strconv.Atoi(r); err != nil || n < 0 {
			d.addf(p+".limits.daily_reserve", "want a number of requests for hubspot, got %q", r)
		}
	}
	validateFields(d, p, s)
}

func validateSalesforce(d *document, p string, s *Source) {
	onlyFor(d, p, "sellsy", sellsyKeys...)
	onlyFor(d, p, "monday", mondayKeys...)
	onlyFor(d, p, "hubspot", "base_url", "path")
	onlyFor(d, p, "dynamics", dynamicsKeys...)
	if d.has(p+".limits.burst") || d.has(p+".limits.search_per_second") {
		d.addf(p+".limits", "burst and search_per_second are hubspot limits; salesforce takes daily_reserve")
	}
	if s.LoginURL == "" {
		s.LoginURL = DefaultSalesforceLoginURL
	} else if !isHTTPURL(s.LoginURL) {
		d.addf(p+".login_url", "invalid URL %q (want https://login.salesforce.com, https://test.salesforce.com or your My Domain URL)", s.LoginURL)
	}
	s.LoginURL = strings.TrimSuffix(s.LoginURL, "/")
	if s.APIVersion == "" {
		s.APIVersion = DefaultSalesforceAPIVersion
	} else if !apiVersion.MatchString(s.APIVersion) {
		d.addf(p+".api_version", "invalid API version %q (want the form v66.0)", s.APIVersion)
	}
	validateSalesforceAuth(d, p, s)
	if r := s.Limits.DailyReserve; r != "" {
		if _, ok := ParseShare(r); !ok {
			d.addf(p+".limits.daily_reserve", "want a share of the daily allocation such as \"10%%\", got %q", r)
		}
	}
	if s.Fields.PrimaryContact != nil && s.Fields.PrimaryContact.AssociationLabel != "" {
		d.addf(p+".fields.primary_contact.association_label", "association labels are a hubspot feature: use field (an account lookup) or property (a contact checkbox)")
	}
	validateFields(d, p, s)
}

func validateSalesforceAuth(d *document, p string, s *Source) {
	flow := s.Auth.Flow()
	switch flow {
	case "":
		d.addf(p+".auth", "required for source type salesforce: JWT bearer (client_id, username, private_key), client credentials (client_id, client_secret) or refresh token (client_id, refresh_token)")
		return
	case FlowToken:
		d.addf(p+".auth.token", "salesforce access tokens expire: use JWT bearer, client credentials or a refresh token")
	case FlowJWT:
		needAuth(d, p, s.Auth, flow, "client_id", "username", "private_key")
		extraAuth(d, p, s.Auth, flow, "client_secret")
	case FlowClientCredentials:
		needAuth(d, p, s.Auth, flow, "client_id")
		if host := strings.TrimPrefix(s.LoginURL, "https://"); host == "login.salesforce.com" || host == "test.salesforce.com" {
			d.addf(p+".login_url", "the client credentials flow needs your My Domain URL (https://yourorg.my.salesforce.com), not %s", s.LoginURL)
		}
	case FlowRefreshToken:
		needAuth(d, p, s.Auth, flow, "client_id")
		extraAuth(d, p, s.Auth, flow, "username", "private_key")
	case FlowClientCertificate: // auth.certificate is reported by onlyFor
	}
	if s.Auth.Audience != "" && flow != FlowJWT {
		d.addf(p+".auth.audience", "only used by the JWT bearer flow")
	}
}

// dynamicsKeys are the keys only a dynamics source takes.
var dynamicsKeys = []string{"auth.tenant_id", "auth.certificate", "auth.certificate_file", "auth.token_url", "auth.scope", "limits.requests_per_5min"}

func validateDynamics(d *document, p string, s *Source) {
	onlyFor(d, p, "sellsy", sellsyKeys...)
	onlyFor(d, p, "monday", mondayKeys...)
	onlyFor(d, p, "salesforce", "login_url", "path")
	unusedLimits(d, p, "dynamics: it takes requests_per_5min", "burst", "search_per_second", "daily_reserve")
	switch {
	case s.BaseURL == "":
		d.addf(p+".base_url", "required for source type dynamics: the organization URL, such as https://acme.crm.dynamics.com")
	case !isHTTPURL(s.BaseURL): // reported already
	case !isOrgURL(s.BaseURL):
		d.addf(p+".base_url", "want the organization URL over https, such as https://acme.crm.dynamics.com, got %q", s.BaseURL)
	}
	if s.APIVersion == "" {
		s.APIVersion = DefaultDynamicsAPIVersion
	} else if !dynamicsAPIVersion.MatchString(s.APIVersion) {
		d.addf(p+".api_version", "invalid API version %q (want the form v9.2)", s.APIVersion)
	}
	validateDynamicsAuth(d, p, s)
	switch n := s.Limits.RequestsPer5Min; {
	case !d.has(p + ".limits.requests_per_5min"):
		s.Limits.RequestsPer5Min = DefaultDynamicsRequestsPer5Min
	case n < 1 || n > MaxDynamicsRequestsPer5Min:
		d.addf(p+".limits.requests_per_5min", "want 1 to %d (Dataverse's limit per user in 5 minutes), got %d", MaxDynamicsRequestsPer5Min, n)
	}
	if s.Fields.PrimaryContact != nil && s.Fields.PrimaryContact.AssociationLabel != "" {
		d.addf(p+".fields.primary_contact.association_label", "association labels are a hubspot feature: use field (an account lookup such as _primarycontactid_value) or property (a contact yes/no column)")
	}
	validateFields(d, p, s)
	validateDynamicsFields(d, p, s.Fields)
}

func validateDynamicsAuth(d *document, p string, s *Source) {
	a := s.Auth
	flow := a.Flow()
	switch flow {
	case "":
		d.addf(p+".auth", "required for source type dynamics: tenant_id, client_id and client_secret, or tenant_id, client_id, certificate and private_key")
		return
	case FlowClientCredentials:
		needAuth(d, p, a, flow, "client_id")
	case FlowClientCertificate:
		needAuth(d, p, a, flow, "client_id", "private_key")
		extraAuth(d, p, a, flow, "client_secret")
	case FlowJWT: // username or private_key without a certificate
		needAuth(d, p, a, FlowClientCertificate, "client_id", "certificate")
	default:
		d.addf(p+".auth", "dynamics takes a client secret (client_secret) or a certificate (certificate and private_key), not %s", flow)
	}
	unusedAuth(d, p, "dynamics", a, "token", "refresh_token", "username", "audience")
	if a.TenantID == "" && a.TokenURL == "" {
		d.addf(p+".auth.tenant_id", "required for source type dynamics (unless auth.token_url is set)")
	}
	checkTokenURL(d, p, a, "https://login.microsoftonline.us/{tenant}/oauth2/v2.0/token")
}

// isOrgURL reports whether raw is an https URL, or an http one on a
// loopback host (a local fake), so that tokens never travel in clear.
func isOrgURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return u.Scheme == "http" && (u.Hostname() == "localhost" || ip != nil && ip.IsLoopback())
}

// validateDynamicsFields checks that mapped columns are Dataverse logical
// names: lower case, lookups as _name_value.
func validateDynamicsFields(d *document, p string, f Fields) {
	eachMappedField(p, f, func(path, name string) {
		if (fieldName.MatchString(name) || lookupValue.MatchString(name)) && !dynamicsField.MatchString(name) {
			d.addf(path, "invalid column %q: want a logical name in lower case, such as customertypecode or _primarycontactid_value", name)
		}
	})
}

// eachMappedField calls check with the path and name of every column or
// property the field mapping of source p names, in the order of the keys.
func eachMappedField(p string, f Fields, check func(path, name string)) {
	fp := p + ".fields"
	if lc := f.Lifecycle; lc != nil {
		check(fp+".lifecycle.field", lc.Field)
	}
	for i, name := range f.LastActivityAt {
		check(indexPath(fp+".last_activity_at", i), name)
	}
	for i, name := range f.Extra {
		check(indexPath(fp+".extra", i), name)
	}
	if pc := f.PrimaryContact; pc != nil {
		check(fp+".primary_contact.property", pc.Property)
		check(fp+".primary_contact.field", pc.Field)
	}
	if l := f.Language; l != nil {
		check(fp+".language.contact", l.Contact)
		check(fp+".language.account", l.Account)
	}
}

// onlyFor reports keys set that belong to another source type.
func onlyFor(d *document, p, other string, keys ...string) {
	for _, k := range keys {
		if d.has(p + "." + k) {
			owner := other
			if k == "path" {
				owner = "csv"
			}
			d.addf(p+"."+k, "only used by source type %s", owner)
		}
	}
}

// authValues returns the auth fields by key, secrets revealed only to
// test for presence.
func authValues(a *SourceAuth) map[string]bool {
	return map[string]bool{
		"token": a.Token != "", "client_id": a.ClientID != "", "client_secret": a.ClientSecret != "",
		"refresh_token": a.RefreshToken != "", "username": a.Username != "", "private_key": a.PrivateKey != "",
		"audience": a.Audience != "", "tenant_id": a.TenantID != "", "certificate": a.Certificate != "",
	}
}

func needAuth(d *document, p string, a *SourceAuth, flow string, keys ...string) {
	set := authValues(a)
	for _, k := range keys {
		if !set[k] && !d.failed[p+".auth."+k+"_file"] { // an unreadable *_file is reported already
			d.addf(p+".auth."+k, "required by the %s flow", flow)
		}
	}
}

// unusedAuth reports the auth keys set that source type typ does not use.
func unusedAuth(d *document, p, typ string, a *SourceAuth, keys ...string) {
	set := authValues(a)
	for _, k := range keys {
		if set[k] {
			d.addf(p+".auth."+k, "not used by source type %s", typ)
		}
	}
}

// unusedLimits reports the limits keys set that a source type does not
// use; takes names the type and the limits it takes ("sellsy: it takes
// ...").
func unusedLimits(d *document, p, takes string, keys ...string) {
	for _, k := range keys {
		if d.has(p + ".limits." + k) {
			d.addf(p+".limits."+k, "not used by source type %s", takes)
		}
	}
}

// checkTokenURL reports an auth.token_url that would send credentials in
// clear; example is the vendor's own token URL.
func checkTokenURL(d *document, p string, a *SourceAuth, example string) {
	if a.TokenURL != "" && !isOrgURL(a.TokenURL) {
		d.addf(p+".auth.token_url", "invalid URL %q (want https, such as %s)", a.TokenURL, example)
	}
}

func extraAuth(d *document, p string, a *SourceAuth, flow string, keys ...string) {
	set := authValues(a)
	for _, k := range keys {
		if set[k] {
			d.addf(p+".auth."+k, "not used by the %s flow: remove it, or the other flow's fields", flow)
		}
	}
}

var fieldName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// validateFields checks a source's field mapping: field names must be
// plain identifiers (they end up in API queries) and lifecycle values
// must map onto known lifecycles.
func validateFields(d *document, p string, s *Source) {
	f := s.Fields
	fp := p + ".fields"
	if lc := f.Lifecycle; lc != nil {
		checkFieldName(d, fp+".lifecycle.field", lc.Field, true)
		for k, v := range lc.Map {
			if !model.Lifecycle(v).Valid() {
				d.addf(childPath(fp+".lifecycle.map", k), "unknown lifecycle %q (want one of %s)", v, lifecycleNames())
			}
		}
	}
	for i, name := range f.LastActivityAt {
		checkFieldName(d, indexPath(fp+".last_activity_at", i), name, true)
	}
	for i, name := range f.Extra {
		checkFieldName(d, indexPath(fp+".extra", i), name, true)
	}
	validateLanguageField(d, fp+".language", f.Language)
	if pc := f.PrimaryContact; pc != nil {
		set := 0
		for key, v := range map[string]string{"property": pc.Property, "field": pc.Field} {
			if v != "" {
				set++
				checkFieldName(d, fp+".primary_contact."+key, v, true)
			}
		}
		if pc.AssociationLabel != "" {
			set++
		}
		if set != 1 {
			d.addf(fp+".primary_contact", "want exactly one of property, field and association_label")
		}
	}
}

func checkFieldName(d *document, path, name string, required bool) {
	switch {
	case name == "" && required:
		d.addf(path, "required")
	case name != "" && !fieldName.MatchString(name) && !lookupValue.MatchString(name):
		d.addf(path, "invalid field name %q (want letters, digits and _)", name)
	}
}

func lifecycleNames() string {
	names := make([]string, len(model.Lifecycles))
	for i, l := range model.Lifecycles {
		names[i] = string(l)
	}
	return strings.Join(names, ", ")
}

// ParseShare reads a share written "10%" (0 to 100); false when it is not
// one.
func ParseShare(s string) (float64, bool) {
	v, ok := strings.CutSuffix(strings.TrimSpace(s), "%")
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f < 0 || f > 100 {
		return 0, false
	}
	return f / 100, true
}
