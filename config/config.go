package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"time"
	_ "time/tzdata" // timezone must load even on images without zoneinfo

	"gopkg.in/yaml.v3"
)

// Config is a crmsync config file after defaults, ${ENV} expansion, *_file
// secrets, path resolution and validation. Relative paths (source paths,
// notify.outbox, templates, *_file) are already resolved against the
// config file's folder; rule_files are resolved by RulePaths.
type Config struct {
	Redis    RedisConfig `yaml:"redis"`
	Timezone string      `yaml:"timezone"`
	// Locale is the language of built-in email templates and of every
	// fixed Slack text, and the number and date format: en (default) or fr.
	// A contact's or account's own language, when the CRM has one, picks
	// the email template.
	Locale string `yaml:"locale"`
	// Currency is the ISO 4217 code of amounts whose deals carry none
	// (EUR, USD); empty: such amounts are shown without a currency.
	Currency string   `yaml:"currency"`
	Sources  []Source `yaml:"sources"`
	// Merge joins the accounts of one company found in several sources;
	// nil when absent.
	Merge     *MergeConfig   `yaml:"merge"`
	Notify    NotifyConfig   `yaml:"notify"`
	Limits    LimitsConfig   `yaml:"limits"`
	Evaluate  EvaluateConfig `yaml:"evaluate"`
	Workers   WorkersConfig  `yaml:"workers"`
	RuleFiles []string       `yaml:"rule_files"`
	Templates string         `yaml:"templates"`
	HTTP      HTTPConfig     `yaml:"http"`
	// Web is the dashboard served on http.listen: sign-in and sessions.
	Web WebConfig `yaml:"web"`
	// Retention bounds what is kept of past passes.
	Retention RetentionConfig `yaml:"retention"`

	file   string
	dir    string
	loc    *time.Location
	ruleAt []*yaml.Node // position of each rule_files entry, for RulePaths errors
}

// Source is one CRM (or folder of CSV files) to sync from.
type Source struct {
	Name     string `yaml:"name"`
	Type     string `yaml:"type"`
	Schedule string `yaml:"schedule"` // cron spec, "@every 15m" or @hourly and friends
	// StaleAfter is how long the source may go without a completed sync
	// before passes stop waiting for it: its data is then used as it is and
	// reported stale. Default DefaultStaleAfter.
	StaleAfter time.Duration `yaml:"stale_after"`
	BaseURL    string        `yaml:"base_url"`    // hubspot: API base URL override; dynamics: the organization URL (required)
	LoginURL   string        `yaml:"login_url"`   // salesforce: token host, login/test.salesforce.com or My Domain
	APIVersion string        `yaml:"api_version"` // salesforce: REST API version such as v66.0; dynamics: Web API version such as v9.2
	Path       string        `yaml:"path"`        // csv: folder of CSV files, resolved
	// Delimiter, Encoding, DateFormat and Decimal describe csv files
	// exported by a spreadsheet or a French CRM: see connectors/csv.
	Delimiter  string       `yaml:"delimiter"`   // csv: ",", ";", "\t" or "|"; default ","
	Encoding   string       `yaml:"encoding"`    // csv: utf-8 (default; a BOM is skipped) or windows-1252
	DateFormat string       `yaml:"date_format"` // csv: how dates are written, such as 02/01/2006 or 31/12/2006
	Decimal    string       `yaml:"decimal"`     // csv: the decimal separator of amounts, "." (default) or ","
	Auth       *SourceAuth  `yaml:"auth"`        // nil when absent
	Limits     SourceLimits `yaml:"limits"`
	Fields     Fields       `yaml:"fields"`
	// AccountID is, for sellsy, the Sellsy account's id: Sellsy numbers
	// objects per account, so record ids include it.
	AccountID string `yaml:"account_id"`
	// Boards is, for monday, the Accounts, Contacts and Deals boards and
	// their column mapping (see MondayBoards).
	Boards *MondayBoards `yaml:"boards"`
}

// SourceAuth holds a source's credentials. Which fields are set picks the
// flow: token (HubSpot private app); client_id + client_secret +
// refresh_token (OAuth2 refresh token); client_id + username + private_key
// (Salesforce JWT bearer); client_id + client_secret alone (Salesforce
// client credentials); for dynamics, tenant_id + client_id with
// client_secret (Entra client credentials) or with certificate +
// private_key (client credentials with a certificate).
type SourceAuth struct {
	Token            Secret `yaml:"token"`
	TokenFile        string `yaml:"token_file"`
	ClientID         string `yaml:"client_id"`
	ClientSecret     Secret `yaml:"client_secret"`
	ClientSecretFile string `yaml:"client_secret_file"`
	RefreshToken     Secret `yaml:"refresh_token"`
	RefreshTokenFile string `yaml:"refresh_token_file"`
	Username         string `yaml:"username"`         // salesforce JWT: the user the integration runs as
	PrivateKey       Secret `yaml:"private_key"`      // salesforce JWT: PEM RSA key of the certificate uploaded to the app
	PrivateKeyFile   string `yaml:"private_key_file"` // file holding private_key
	Audience         string `yaml:"audience"`         // salesforce JWT: aud claim, default the login host
	TenantID         string `yaml:"tenant_id"`        // dynamics: Entra directory (tenant) id or domain
	Certificate      Secret `yaml:"certificate"`      // dynamics: PEM certificate uploaded to the app registration
	CertificateFile  string `yaml:"certificate_file"` // file holding certificate
	TokenURL         string `yaml:"token_url"`        // dynamics, sellsy: token endpoint override (other clouds, tests)
	Scope            string `yaml:"scope"`            // dynamics: token scope override, default {base_url}/.default
}

// Auth flows, as returned by SourceAuth.Flow.
const (
	FlowToken             = "token"
	FlowRefreshToken      = "refresh_token"
	FlowJWT               = "jwt_bearer"
	FlowClientCredentials = "client_credentials"
	// FlowClientCertificate is client credentials with a certificate
	// (dynamics: a client assertion signed with private_key).
	FlowClientCertificate = "client_certificate"
)

// Flow names the auth flow the set fields select ("" when none fits).
func (a *SourceAuth) Flow() string {
	switch {
	case a == nil:
		return ""
	case a.Token != "":
		return FlowToken
	case a.RefreshToken != "":
		return FlowRefreshToken
	case a.Certificate != "":
		return FlowClientCertificate
	case a.Username != "" || a.PrivateKey != "":
		return FlowJWT
	case a.ClientSecret != "":
		return FlowClientCredentials
	}
	return ""
}

// SourceLimits tunes how much of a CRM's API allocation a source uses.
type SourceLimits struct {
	// Burst is HubSpot's allowance per 10 seconds: 100 (private app on
	// Free/Starter, the default), 110 (public app), 190 (Professional,
	// Enterprise), 250 (API limit increase).
	Burst int `yaml:"burst"`
	// SearchPerSecond is HubSpot's search API allowance (default 5).
	SearchPerSecond int `yaml:"search_per_second"`
	// DailyReserve is what a sync leaves of the daily allocation to the
	// CRM's other integrations: a number of requests for HubSpot (default
	// 1000), a share such as "10%" for Salesforce (default 10%).
	DailyReserve string `yaml:"daily_reserve"`
	// RequestsPer5Min paces a dynamics source under Dataverse's
	// service-protection limit of 6,000 requests per user in 5 minutes
	// (default DefaultDynamicsRequestsPer5Min).
	RequestsPer5Min int `yaml:"requests_per_5min"`
	// FullEvery is how often a sellsy source reads everything again to
	// find deletions (default DefaultSellsyFullEvery).
	FullEvery time.Duration `yaml:"full_every"`
	// WonRescan is how far back a sellsy source reads again, on every
	// sync, the opportunities whose status changed, to catch amount edits
	// (default DefaultSellsyWonRescan).
	WonRescan time.Duration `yaml:"won_rescan"`
	// DailyCalls is a monday account's daily call limit (200 Free, 1,000
	// Basic/Standard, 10,000 Pro, 25,000 Enterprise): syncs stop before
	// making more; 0 stops only when monday says so.
	DailyCalls int `yaml:"daily_calls"`
}

// Fields maps CRM fields onto the model (DESIGN.md, "Mapping CRM fields
// onto the model"); each connector documents its defaults.
type Fields struct {
	Lifecycle      *LifecycleField `yaml:"lifecycle"`
	LastActivityAt []string        `yaml:"last_activity_at"` // latest wins
	PrimaryContact *PrimaryContact `yaml:"primary_contact"`
	Extra          []string        `yaml:"extra"` // exposed to rules as account.extra.*
	Language       *LanguageField  `yaml:"language"`
}

// LanguageField names the CRM fields holding a contact's and an
// account's language (a tag such as fr or en-GB, or a name such as
// French); emails go in the contact's language, else the account's. A
// key left out keeps the connector's default (HubSpot: contact
// hs_language; Salesforce: none).
type LanguageField struct {
	Contact string `yaml:"contact"` // a contact property or field
	Account string `yaml:"account"` // a company property or account field
}

// LifecycleField names the account field giving the lifecycle and maps
// its values onto prospect, customer, former or other.
type LifecycleField struct {
	Field string            `yaml:"field"`
	Map   map[string]string `yaml:"map"`
}

// PrimaryContact says how the CRM marks an account's primary contact:
// exactly one of the three.
type PrimaryContact struct {
	Property         string `yaml:"property"`          // a contact property/field that is true on the primary contact
	Field            string `yaml:"field"`             // an account field holding the primary contact's id
	AssociationLabel string `yaml:"association_label"` // hubspot: a contact-to-company association label
}

// NotifyConfig says how and from whom messages go out.
type NotifyConfig struct {
	Outbox string      `yaml:"outbox"` // folder where messages are written as JSON lines, resolved
	Email  EmailConfig `yaml:"email"`
	Slack  SlackConfig `yaml:"slack"`
}

// EmailConfig configures customer emails.
type EmailConfig struct {
	From               Address `yaml:"from"`
	ReplyToOwner       bool    `yaml:"reply_to_owner"`       // Reply-To is the account owner's address
	APIKey             Secret  `yaml:"api_key"`              // SendGrid API key (Mail Send)
	APIKeyFile         string  `yaml:"api_key_file"`         // file holding api_key
	BaseURL            string  `yaml:"base_url"`             // SendGrid host; EU: https://api.eu.sendgrid.com
	UnsubscribeGroupID int     `yaml:"unsubscribe_group_id"` // SendGrid unsubscribe group (ASM) of every email
	Sandbox            bool    `yaml:"sandbox"`              // SendGrid validates but does not deliver
	WebhookPublicKey   string  `yaml:"webhook_public_key"`   // verification key of SendGrid's signed event webhook
}

// Address is an email address with an optional display name.
type Address struct {
	Email string `yaml:"email"`
	Name  string `yaml:"name"`
}

// SlackConfig configures Slack nudges.
type SlackConfig struct {
	FallbackChannel   string `yaml:"fallback_channel"`    // "#name" or channel ID; for owners without Slack
	Token             Secret `yaml:"token"`               // bot token (xoxb-...)
	TokenFile         string `yaml:"token_file"`          // file holding token
	BaseURL           string `yaml:"base_url"`            // Slack Web API URL, ending in "/"
	SigningSecret     Secret `yaml:"signing_secret"`      // verifies the buttons' interaction requests
	SigningSecretFile string `yaml:"signing_secret_file"` // file holding signing_secret
}

// LimitsConfig caps how often and when customers are emailed, and how
// much one pass sends.
type LimitsConfig struct {
	EmailsPerContact RateLimit     `yaml:"emails_per_contact"`
	QuietHours       QuietHours    `yaml:"quiet_hours"`
	PerPass          PerPassLimits `yaml:"per_pass"`
}

// PerPassLimits caps what one evaluation pass sends. What is over a cap is
// deferred to later passes, highest value first (ABC class, then
// revenue_12m); a rep's or a channel's nudges over its cap are folded into
// one digest. 0 means no cap.
type PerPassLimits struct {
	Emails          int `yaml:"emails"`            // customer emails per pass, all rules (default 200)
	SlackPerRep     int `yaml:"slack_per_rep"`     // separate nudges per rep per pass (default 5)
	SlackPerChannel int `yaml:"slack_per_channel"` // separate posts per channel per pass (default 10)
}

// Defaults of limits.per_pass.
const (
	DefaultPerPassEmails          = 200
	DefaultPerPassSlackPerRep     = 5
	DefaultPerPassSlackPerChannel = 10
)

// RateLimit allows at most Max messages in any window of length Per.
type RateLimit struct {
	Max int           `yaml:"max"`
	Per time.Duration `yaml:"per"`
}

// QuietHours is a daily window, in the recipient's time zone, during which
// no email is sent; with Weekends, Saturdays and Sundays are quiet all day.
// From and To are "HH:MM"; both empty means no daily window. A window may
// cross midnight ("19:00" to "08:30").
type QuietHours struct {
	From     string `yaml:"from"`
	To       string `yaml:"to"`
	Weekends bool   `yaml:"weekends"`
}

// Window returns From and To as offsets from midnight; ok is false when no
// daily window is set.
func (q QuietHours) Window() (from, to time.Duration, ok bool) {
	if q.From == "" || q.To == "" {
		return 0, 0, false
	}
	from, errFrom := parseClock(q.From)
	to, errTo := parseClock(q.To)
	return from, to, errFrom == nil && errTo == nil
}

// EvaluateConfig schedules the rule evaluation pass.
type EvaluateConfig struct {
	Schedule string `yaml:"schedule"`
}

// WorkersConfig sizes the task workers.
type WorkersConfig struct {
	Concurrency int `yaml:"concurrency"`
}

// HTTPConfig configures the HTTP server (webhooks, Slack buttons, admin).
type HTTPConfig struct {
	Listen         string `yaml:"listen"`
	AdminToken     Secret `yaml:"admin_token"`
	AdminTokenFile string `yaml:"admin_token_file"`
}

// sourceTypes lists the known source types; each new connector adds its
// type here.
var sourceTypes = []string{"csv", "dynamics", "hubspot", "monday", "salesforce", "sellsy"}

// DefaultSourceSchedule is the sync schedule of a source without one.
const DefaultSourceSchedule = "@every 15m"

// DefaultStaleAfter is the stale_after of a source without one.
const DefaultStaleAfter = 24 * time.Hour

// The sender of customer emails when notify.email.from is absent.
const (
	defaultFromEmail = "crmsync@localhost"
	defaultFromName  = "crmsync"
)

// defaults returns a Config holding every default; the file is decoded
// over it.
func defaults() Config {
	return Config{
		Redis:    RedisConfig{Namespace: "crmsync"},
		Timezone: "UTC",
		Notify:   NotifyConfig{Email: EmailConfig{ReplyToOwner: true}},
		Locale:   "en",
		Limits: LimitsConfig{
			EmailsPerContact: RateLimit{Max: 2, Per: 30 * 24 * time.Hour},
			PerPass:          PerPassLimits{Emails: DefaultPerPassEmails, SlackPerRep: DefaultPerPassSlackPerRep, SlackPerChannel: DefaultPerPassSlackPerChannel},
		},
		Evaluate:  EvaluateConfig{Schedule: "0 7 * * 1-5"},
		Workers:   WorkersConfig{Concurrency: 10},
		HTTP:      HTTPConfig{Listen: "127.0.0.1:8080"},
		Retention: RetentionConfig{Reports: DefaultReportsKept},
	}
}

// Load reads and parses the config file at path. Relative paths in it are
// resolved against the file's folder.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	dir := filepath.Dir(path)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return Parse(path, data, dir)
}

// Parse parses a config file. name is used in error positions
// ("crmsync.yaml:12:3: ..."), dir resolves relative paths. Every problem in
// the file is reported, joined with errors.Join, each as an *Error.
func Parse(name string, data []byte, dir string) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, syntaxError(name, err)
	}
	d := newDocument(name, &root)
	c := defaults()
	c.file, c.dir = name, dir
	if d.root != nil {
		d.expandEnv("", d.root, os.LookupEnv)
		d.decode("", d.root, reflect.ValueOf(&c).Elem())
	}
	c.applySectionDefaults(d)
	c.applyEnvOverrides(os.LookupEnv)
	c.resolvePaths()
	c.readSecrets(d)
	c.validate(d)
	if err := d.err(); err != nil {
		return nil, err
	}
	for i := range c.RuleFiles {
		c.ruleAt = append(c.ruleAt, d.node(indexPath("rule_files", i)))
	}
	return &c, nil
}

// applySectionDefaults fills defaults that depend on whether a whole
// section is present.
func (c *Config) applySectionDefaults(d *document) {
	if !d.has("notify.email.from") {
		c.Notify.Email.From = Address{Email: defaultFromEmail, Name: defaultFromName}
	}
	for i := range c.Sources {
		if c.Sources[i].Schedule == "" {
			c.Sources[i].Schedule = DefaultSourceSchedule
		}
		if c.Sources[i].StaleAfter == 0 {
			c.Sources[i].StaleAfter = DefaultStaleAfter
		}
	}
}

// resolvePaths makes every file and folder path absolute (or relative to
// the working directory, when dir is) by joining it to the config folder.
func (c *Config) resolvePaths() {
	paths := []*string{&c.Redis.URLFile, &c.Notify.Outbox, &c.Templates, &c.HTTP.AdminTokenFile, &c.Web.SessionKeyFile,
		&c.Notify.Email.APIKeyFile, &c.Notify.Slack.TokenFile, &c.Notify.Slack.SigningSecretFile}
	for i := range c.Sources {
		s := &c.Sources[i]
		paths = append(paths, &s.Path)
		if a := s.Auth; a != nil {
			paths = append(paths, &a.TokenFile, &a.ClientSecretFile, &a.RefreshTokenFile, &a.PrivateKeyFile, &a.CertificateFile)
		}
	}
	if c.Merge != nil {
		paths = append(paths, &c.Merge.MappingFile)
	}
	if sl := c.Web.SignIn.Slack; sl != nil {
		paths = append(paths, &sl.ClientSecretFile)
	}
	for _, p := range paths {
		*p = c.resolve(*p)
	}
}

func (c *Config) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

// Location returns the time zone of the timezone key (UTC by default).
func (c *Config) Location() *time.Location {
	if c.loc == nil {
		return time.UTC
	}
	return c.loc
}
