package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/connectors/csv"
	"github.com/crmsync/crmsync/model"
)

// validate checks every section and records each problem in d.
func (c *Config) validate(d *document) {
	c.validateRedis(d)
	c.validateTimezone(d)
	c.validateLocale(d)
	seen := map[string]int{}
	for i := range c.Sources {
		c.validateSource(d, i, seen)
	}
	c.validateMerge(d)
	c.validateNotify(d)
	c.validateLimits(d)
	c.validateEvaluate(d)
	if c.Workers.Concurrency < 1 {
		d.addf("workers.concurrency", "must be at least 1, got %d", c.Workers.Concurrency)
	}
	c.validateRuleFiles(d)
	c.validateTemplates(d)
	c.validateHTTP(d)
	c.validateWeb(d)
	c.validateRetention(d)
}

func (c *Config) validateTimezone(d *document) {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil || c.Timezone == "" {
		d.addf("timezone", "unknown time zone %q (want an IANA name such as Europe/Paris, or UTC)", c.Timezone)
		return
	}
	c.loc = loc
}

var sourceName = regexp.MustCompile(`^[a-z0-9_-]+$`)

// validateSource checks sources[i]; seen maps source names to the line of
// their first use.
func (c *Config) validateSource(d *document, i int, seen map[string]int) {
	s := &c.Sources[i]
	p := indexPath("sources", i)
	switch line, dup := seen[s.Name]; {
	case s.Name == "":
		d.addf(p+".name", "required")
	case !sourceName.MatchString(s.Name):
		d.addf(p+".name", `invalid name %q (want lower-case letters, digits, "-" and "_")`, s.Name)
	case dup:
		d.addf(p+".name", "duplicate source name %q (first at line %d)", s.Name, line)
	default:
		seen[s.Name] = d.node(p + ".name").Line
	}
	c.checkSchedule(d, p+".schedule", &s.Schedule)
	if s.StaleAfter < 0 {
		d.addf(p+".stale_after", "must not be negative, got %s", FormatDuration(s.StaleAfter))
	}
	if s.BaseURL != "" && !isHTTPURL(s.BaseURL) {
		d.addf(p+".base_url", "invalid URL %q (want an absolute http or https URL)", s.BaseURL)
	}
	validateCSVFormat(d, p, s)
	switch s.Type {
	case "":
		d.addf(p+".type", "required")
	case "csv":
		validateCSV(d, p, s)
	case "dynamics":
		validateDynamics(d, p, s)
	case "hubspot":
		validateHubSpot(d, p, s)
	case "salesforce":
		validateSalesforce(d, p, s)
	case "monday":
		validateMonday(d, p, s)
	case "sellsy":
		validateSellsy(d, p, s)
	default:
		if hint := didYouMean(s.Type, sourceTypes); hint != "" {
			d.addf(p+".type", "unknown source type %q%s", s.Type, hint)
		} else {
			d.addf(p+".type", "unknown source type %q (want one of %s)", s.Type, strings.Join(sourceTypes, ", "))
		}
	}
}

// validateCSVFormat checks the keys that say how a csv source's files
// are written (delimiter, encoding, date_format, decimal) with the
// connector's own parsers; other source types refuse them.
func validateCSVFormat(d *document, p string, s *Source) {
	checks := []struct {
		key   string
		value string
		check func(string) error
	}{
		{"delimiter", s.Delimiter, func(v string) error { _, err := csv.ParseDelimiter(v); return err }},
		{"encoding", s.Encoding, func(v string) error { _, err := csv.ParseEncoding(v); return err }},
		{"date_format", s.DateFormat, func(v string) error { _, err := csv.ParseDateFormat(v); return err }},
		{"decimal", s.Decimal, func(v string) error { _, err := csv.ParseDecimal(v); return err }},
	}
	for _, c := range checks {
		key := p + "." + c.key
		switch {
		case !d.has(key): // unset: the default
		case s.Type != "csv":
			if s.Type == "dynamics" || s.Type == "hubspot" || s.Type == "salesforce" || s.Type == "sellsy" || s.Type == "monday" {
				d.addf(key, "only used by source type csv")
			}
		case c.value == "" && c.key == "delimiter":
			d.addf(key, `must not be empty: leave it out for auto, or quote the character (a bare | starts a YAML block): delimiter: "|"`)
		case c.value == "":
			d.addf(key, "must not be empty: leave it out for the default")
		default:
			if err := c.check(c.value); err != nil {
				d.addf(key, "%v", err)
			}
		}
	}
}

// checkSchedule validates a schedule and stores its normalised form.
func (c *Config) checkSchedule(d *document, path string, s *string) {
	norm, err := checkSchedule(*s)
	if err != nil {
		d.addf(path, "%v", err)
		return
	}
	*s = norm
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func (c *Config) validateNotify(d *document) {
	n := &c.Notify
	if n.Outbox == "" && n.Email.APIKey == "" && n.Slack.Token == "" {
		d.addf("notify", "nowhere to deliver: set notify.email.api_key and/or notify.slack.token, or an outbox folder (notify.outbox)")
	}
	if u := n.Email.BaseURL; u != "" && !isHTTPURL(u) {
		d.addf("notify.email.base_url", "invalid URL %q (want an absolute http(s) URL)", u)
	}
	if u := n.Slack.BaseURL; u != "" && (!isHTTPURL(u) || !strings.HasSuffix(u, "/")) {
		d.addf("notify.slack.base_url", "invalid URL %q (want an absolute http(s) URL ending in /)", u)
	}
	if n.Email.UnsubscribeGroupID < 0 {
		d.addf("notify.email.unsubscribe_group_id", "must not be negative, got %d", n.Email.UnsubscribeGroupID)
	}
	c.validateFrom(d)
	if ch := n.Slack.FallbackChannel; ch != "" && !isChannel(ch) {
		d.addf("notify.slack.fallback_channel", `invalid channel %q (want "#name" or a channel ID such as C0123456789)`, ch)
	}
}

// validateFrom checks the sender of customer emails: an address SendGrid
// accepts (model.ValidEmail). The default, crmsync@localhost, serves dry
// runs (notify.outbox) only.
func (c *Config) validateFrom(d *document) {
	n := &c.Notify
	switch from := n.Email.From.Email; {
	case from == "":
		d.addf("notify.email.from.email", "required")
	case from == defaultFromEmail:
		if n.Email.APIKey != "" && n.Outbox == "" {
			d.addf("notify.email.from.email", "SendGrid refuses the default sender %q (set the address SendGrid sends from)", from)
		}
	case !model.ValidEmail(from):
		d.addf("notify.email.from.email", "invalid email address %q (want one SendGrid accepts, such as success@example.com)", from)
	}
}

var channelID = regexp.MustCompile(`^C[A-Z0-9]+$`)

func isChannel(s string) bool {
	return len(s) > 1 && s[0] == '#' && !strings.ContainsAny(s, " \t") || channelID.MatchString(s)
}

func (c *Config) validateLimits(d *document) {
	l := c.Limits
	if l.EmailsPerContact.Max < 1 {
		d.addf("limits.emails_per_contact.max", "must be at least 1, got %d", l.EmailsPerContact.Max)
	}
	if l.EmailsPerContact.Per <= 0 {
		d.addf("limits.emails_per_contact.per", "must be a positive duration such as 30d")
	}
	for key, v := range map[string]int{"emails": l.PerPass.Emails, "slack_per_rep": l.PerPass.SlackPerRep, "slack_per_channel": l.PerPass.SlackPerChannel} {
		if v < 0 {
			d.addf("limits.per_pass."+key, "must be 0 (no cap) or more, got %d", v)
		}
	}
	q := l.QuietHours
	c.checkClock(d, "limits.quiet_hours.from", q.From, q.To != "")
	c.checkClock(d, "limits.quiet_hours.to", q.To, q.From != "")
	if q.From != "" && q.From == q.To {
		d.addf("limits.quiet_hours.to", "same as from (%q): the window would be empty", q.To)
	}
}

// checkClock validates an "HH:MM" value, required when its pair is set.
func (c *Config) checkClock(d *document, path, s string, required bool) {
	if s == "" {
		if required {
			d.addf(path, "required when %s is set", quietPair(path))
		}
		return
	}
	if _, err := parseClock(s); err != nil {
		d.addf(path, "%v", err)
	}
}

func quietPair(path string) string {
	if strings.HasSuffix(path, ".from") {
		return "to"
	}
	return "from"
}

// parseClock parses "HH:MM" into an offset from midnight.
func parseClock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, fmt.Errorf("invalid time %q (want HH:MM, 00:00 to 23:59)", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

func (c *Config) validateEvaluate(d *document) {
	c.checkSchedule(d, "evaluate.schedule", &c.Evaluate.Schedule)
}

// validateRuleFiles checks that every rule_files glob is valid and matches
// a file now; RulePaths checks again when the rules are loaded.
func (c *Config) validateRuleFiles(d *document) {
	if len(c.RuleFiles) == 0 {
		d.addf("rule_files", "at least one rule file is required")
	}
	for i, p := range c.RuleFiles {
		key := indexPath("rule_files", i)
		if p == "" {
			d.addf(key, "must not be empty")
			continue
		}
		if _, err := filepath.Match(p, ""); err != nil {
			d.addf(key, "invalid glob pattern %q", p)
			continue
		}
		if files, err := c.glob(p); err != nil || len(files) == 0 {
			d.addf(key, "%q matches no file", p)
		}
	}
}

func (c *Config) validateTemplates(d *document) {
	if c.Templates == "" {
		return
	}
	fi, err := os.Stat(c.Templates)
	switch {
	case err != nil:
		d.addf("templates", "folder %q does not exist or cannot be read", c.Templates)
	case !fi.IsDir():
		d.addf("templates", "%q is not a folder", c.Templates)
	}
}

func (c *Config) validateHTTP(d *document) {
	_, port, err := net.SplitHostPort(c.HTTP.Listen)
	if err != nil {
		d.addf("http.listen", "invalid address %q (want host:port such as 127.0.0.1:8080)", c.HTTP.Listen)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		d.addf("http.listen", "invalid port %q in %q", port, c.HTTP.Listen)
	}
}

// Locales lists the values of locale: the languages of the built-in
// templates and fixed texts.
var Locales = []string{"en", "fr"}

// currencyPattern is an ISO 4217 code.
var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

func (c *Config) validateLocale(d *document) {
	if !slices.Contains(Locales, c.Locale) {
		d.addf("locale", "%q is not one of %s", c.Locale, strings.Join(Locales, ", "))
	}
	if c.Currency != "" && !currencyPattern.MatchString(c.Currency) {
		d.addf("currency", "%q is not an ISO 4217 code such as EUR or USD", c.Currency)
	}
}

// validateLanguageField checks fields.language at path: contact, account
// or both, each a plain field name.
func validateLanguageField(d *document, path string, f *LanguageField) {
	if f == nil {
		return
	}
	if f.Contact == "" && f.Account == "" {
		d.addf(path, "want contact, account or both: the fields holding the contact's and the account's language")
		return
	}
	checkFieldName(d, path+".contact", f.Contact, false)
	checkFieldName(d, path+".account", f.Account, false)
}
