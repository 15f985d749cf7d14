package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const testRedisURL = "redis://:hunter2@redis.internal:6379/0"

// parseFile parses testdata/<file> as "<file>" with testdata as its folder,
// so that error positions and resolved paths are the same on every machine.
func parseFile(t *testing.T, file string) (*Config, error) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return Parse(file, data, "testdata")
}

// unsetenv unsets name for the duration of the test.
func unsetenv(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "")
	if err := os.Unsetenv(name); err != nil {
		t.Fatal(err)
	}
}

// exported returns c without its unexported fields, for comparisons.
func exported(c *Config) Config {
	e := *c
	e.file, e.dir, e.loc, e.ruleAt = "", "", nil, nil
	return e
}

func TestParseGood(t *testing.T) {
	t.Setenv("CRMSYNC_TEST_REDIS_URL", testRedisURL)
	c, err := parseFile(t, "good.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := Config{
		Redis:    RedisConfig{URL: testRedisURL, Namespace: "acme"},
		Timezone: "Europe/Paris",
		Locale:   "fr",
		Currency: "EUR",
		Sources: []Source{
			{Name: "files", Type: "csv", Schedule: "@every 15m", StaleAfter: DefaultStaleAfter, Path: "testdata/data"},
			{Name: "archive", Type: "csv", Schedule: "0 */6 * * *", StaleAfter: DefaultStaleAfter, Path: "/srv/archive"},
		},
		Notify: NotifyConfig{
			Outbox: "testdata/outbox",
			Email:  EmailConfig{From: Address{Email: "success@example.com", Name: "Example"}},
			Slack:  SlackConfig{FallbackChannel: "#sales-alerts"},
		},
		Limits: LimitsConfig{
			EmailsPerContact: RateLimit{Max: 3, Per: 14 * 24 * time.Hour},
			QuietHours:       QuietHours{From: "19:00", To: "08:30", Weekends: true},
			PerPass:          PerPassLimits{Emails: 50, SlackPerRep: 3, SlackPerChannel: DefaultPerPassSlackPerChannel},
		},
		Evaluate:  EvaluateConfig{Schedule: "30 6 * * 1-5"},
		Workers:   WorkersConfig{Concurrency: 4},
		RuleFiles: []string{"rules/*.yaml"},
		Templates: "testdata/templates",
		HTTP: HTTPConfig{
			Listen:         "0.0.0.0:9090",
			AdminToken:     "admin-token-from-file",
			AdminTokenFile: "testdata/secrets/admin_token",
		},
		Retention: RetentionConfig{Reports: DefaultReportsKept},
	}
	if got := exported(c); !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(good.yaml) =\n%#v\nwant\n%#v", got, want)
	}
	if got := c.Location().String(); got != "Europe/Paris" {
		t.Errorf("Location() = %s, want Europe/Paris", got)
	}
}

func TestParseDefaults(t *testing.T) {
	c, err := parseFile(t, "minimal.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := defaults()
	want.Notify.Outbox = "testdata/outbox"
	want.Notify.Email.From = Address{Email: "crmsync@localhost", Name: "crmsync"}
	want.RuleFiles = []string{"rules/a.yaml"}
	if got := exported(c); !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(minimal.yaml) =\n%#v\nwant\n%#v", got, want)
	}
	if c.Location() != time.UTC {
		t.Errorf("Location() = %v, want UTC", c.Location())
	}
	if !c.Notify.Email.ReplyToOwner || c.Redis.Namespace != "crmsync" || c.HTTP.Listen != "127.0.0.1:8080" {
		t.Errorf("defaults not applied: %+v", exported(c))
	}
}

func TestParseErrors(t *testing.T) {
	unsetenv(t, "CRMSYNC_TEST_UNSET_VAR")
	tests := []struct {
		file string
		want []string
	}{
		{"bad.syntax.yaml", []string{
			`bad.syntax.yaml:2: yaml: did not find expected key`,
		}},
		{"bad.root.yaml", []string{
			`bad.root.yaml:1:1: want a mapping, got a list`,
		}},
		{"bad.unknown-key.yaml", []string{
			`bad.unknown-key.yaml:3:3: redis.urll: unknown key (did you mean "url"?)`,
			`bad.unknown-key.yaml:6:3: notify.emial: unknown key (did you mean "email"?)`,
			`bad.unknown-key.yaml:8:1: colour: unknown key`,
		}},
		{"bad.duplicate-key.yaml", []string{
			`bad.duplicate-key.yaml:5:3: workers.concurrency: duplicate key (first at line 4)`,
		}},
		{"bad.type.yaml", []string{
			`bad.type.yaml:3:16: workers.concurrency: want an integer, got "ten"`,
			`bad.type.yaml:5:37: limits.emails_per_contact.per: invalid duration "3x" (want e.g. 30d, 2w, 12h, 90m)`,
			`bad.type.yaml:7:15: limits.quiet_hours.weekends: want true or false, got "sometimes"`,
			`bad.type.yaml:8:13: rule_files: want a list, got a single value`,
		}},
		{"bad.duplicate-source.yaml", []string{
			`bad.duplicate-source.yaml:7:11: sources[1].name: duplicate source name "files" (first at line 4)`,
		}},
		{"bad.source.yaml", []string{
			`bad.source.yaml:8:11: sources[1].type: unknown source type "hubspott" (did you mean "hubspot"?)`,
			`bad.source.yaml:9:5: sources[2].path: required for source type csv`,
			`bad.source.yaml:10:11: sources[2].name: invalid name "Bad Name" (want lower-case letters, digits, "-" and "_")`,
			`bad.source.yaml:11:15: sources[2].schedule: invalid schedule "*/5 25 * * *": end of range (25) above maximum (23): 25`,
			`bad.source.yaml:12:15: sources[2].base_url: invalid URL "api.example.com" (want an absolute http or https URL)`,
			`bad.source.yaml:14:7: sources[2].auth: not supported by source type csv`,
			`bad.source.yaml:15:5: sources[3].name: required`,
			`bad.source.yaml:15:5: sources[3].type: required`,
		}},
		{"bad.language.yaml", []string{
			`bad.language.yaml:8:17: sources[0].fields.language: want contact, account or both: the fields holding the contact's and the account's language`,
			`bad.language.yaml:13:27: sources[1].fields.language.contact: invalid field name "Language__c, Name" (want letters, digits and _)`,
			`bad.language.yaml:13:48: sources[1].fields.language.acount: unknown key (did you mean "account"?)`,
			`bad.language.yaml:18:7: sources[2].fields: not supported by source type csv`,
		}},
		{"bad.missing-outbox.yaml", []string{
			`bad.missing-outbox.yaml:2:3: notify: nowhere to deliver: set notify.email.api_key and/or notify.slack.token, or an outbox folder (notify.outbox)`,
		}},
		{"bad.no-rule-files.yaml", []string{
			`bad.no-rule-files.yaml:1:1: rule_files: at least one rule file is required`,
		}},
		{"bad.env.yaml", []string{
			`bad.env.yaml:6:11: sources[0].path: environment variable CRMSYNC_TEST_UNSET_VAR is not set`,
			`bad.env.yaml:8:11: http.listen: unterminated "${" (write "$$" for a literal "$")`,
		}},
		{"bad.secret-both.yaml", []string{
			`bad.secret-both.yaml:2:3: redis: at most one of url and url_file`,
			`bad.secret-both.yaml:7:21: http.admin_token_file: cannot read "testdata/secrets/missing": no such file or directory`,
		}},
		{"bad.redis-url.yaml", []string{
			`bad.redis-url.yaml:2:8: redis.url: want a redis://host:port/db or rediss://host:port/db URL (or redis+sentinel://, redis+cluster://)`,
		}},
		{"bad.values.yaml", []string{
			`bad.values.yaml:1:11: timezone: unknown time zone "Mars/Olympus" (want an IANA name such as Europe/Paris, or UTC)`,
			`bad.values.yaml:5:11: notify.email.from.email: required`,
			`bad.values.yaml:7:23: notify.slack.fallback_channel: invalid channel "sales" (want "#name" or a channel ID such as C0123456789)`,
			`bad.values.yaml:9:29: limits.emails_per_contact.max: must be at least 1, got 0`,
			`bad.values.yaml:9:37: limits.emails_per_contact.per: must be a positive duration such as 30d`,
			`bad.values.yaml:10:16: limits.quiet_hours.to: required when from is set`,
			`bad.values.yaml:10:23: limits.quiet_hours.from: invalid time "7pm" (want HH:MM, 00:00 to 23:59)`,
			`bad.values.yaml:12:13: evaluate.schedule: invalid schedule "@every": unrecognized descriptor: @every (want @every <duration>, @hourly, @daily, @weekly, @monthly or @yearly)`,
			`bad.values.yaml:15:16: workers.concurrency: must be at least 1, got 0`,
			`bad.values.yaml:16:14: rule_files[0]: invalid glob pattern "rules/[a.yaml"`,
			`bad.values.yaml:17:12: templates: folder "testdata/no-such-folder" does not exist or cannot be read`,
			`bad.values.yaml:19:11: http.listen: invalid address "localhost" (want host:port such as 127.0.0.1:8080)`,
		}},
		{"bad.namespace-from.yaml", []string{
			`bad.namespace-from.yaml:2:14: redis.namespace: invalid namespace "prod:crm" (want letters, digits, "-", "_" and ".", with at most one {hash tag}; no spaces or ":")`,
			`bad.namespace-from.yaml:6:19: notify.email.from.email: invalid email address "success@company-name" (want one SendGrid accepts, such as success@example.com)`,
		}},
		{"bad.locale.yaml", []string{
			`bad.locale.yaml:1:9: locale: "de" is not one of en, fr`,
			`bad.locale.yaml:2:11: currency: "euro" is not an ISO 4217 code such as EUR or USD`,
			`bad.locale.yaml:4:22: limits.per_pass.emails: must be 0 (no cap) or more, got -1`,
		}},
		{"bad.csv-format.yaml", []string{
			`bad.csv-format.yaml:7:16: sources[0].delimiter: invalid delimiter ":" (want ",", ";", "\t" (or tab), "|" or auto)`,
			`bad.csv-format.yaml:8:15: sources[0].encoding: unknown encoding "utf-16" (want utf-8 or windows-1252; cp1252, latin1 and iso-8859-1 are read as windows-1252)`,
			`bad.csv-format.yaml:9:18: sources[0].date_format: invalid date format "02/01/2006": this is a Go layout; write it "DD/MM/YYYY" (` + csvDateHelp + `)`,
			`bad.csv-format.yaml:10:14: sources[0].decimal: invalid decimal separator ";" (want "." or ",")`,
			`bad.csv-format.yaml:14:16: sources[1].delimiter: must not be empty: leave it out for auto, or quote the character (a bare | starts a YAML block): delimiter: "|"`,
			`bad.csv-format.yaml:15:18: sources[1].date_format: invalid date format "dd/mm/yyyy": unexpected "d" (` + csvDateHelp + `)`,
			`bad.csv-format.yaml:19:16: sources[2].delimiter: only used by source type csv`,
			`bad.csv-format.yaml:20:15: sources[2].encoding: only used by source type csv`,
			`bad.csv-format.yaml:25:14: sources[3].decimal: only used by source type csv`,
		}},
		{"bad.dynamics.yaml", []string{
			`bad.dynamics.yaml:4:5: sources[0].base_url: required for source type dynamics: the organization URL, such as https://acme.crm.dynamics.com`,
			`bad.dynamics.yaml:6:11: sources[0].path: only used by source type csv`,
			`bad.dynamics.yaml:7:16: sources[0].login_url: only used by source type salesforce`,
			`bad.dynamics.yaml:8:18: sources[0].api_version: invalid API version "9.2" (want the form v9.2)`,
			`bad.dynamics.yaml:9:11: sources[0].auth: dynamics takes a client secret (client_secret) or a certificate (certificate and private_key), not token`,
			`bad.dynamics.yaml:10:21: sources[0].limits.burst: not used by source type dynamics: it takes requests_per_5min`,
			`bad.dynamics.yaml:10:45: sources[0].limits.requests_per_5min: want 1 to 6000 (Dataverse's limit per user in 5 minutes), got 7000`,
			`bad.dynamics.yaml:11:16: sources[0].delimiter: only used by source type csv`,
			`bad.dynamics.yaml:14:15: sources[1].base_url: want the organization URL over https, such as https://acme.crm.dynamics.com, got "http://acme.crm.dynamics.com"`,
			`bad.dynamics.yaml:15:55: sources[1].auth.client_secret: not used by the client_certificate flow: remove it, or the other flow's fields`,
			`bad.dynamics.yaml:15:104: sources[1].auth.token_url: invalid URL "http://login.example.com/t" (want https, such as https://login.microsoftonline.us/{tenant}/oauth2/v2.0/token)`,
			`bad.dynamics.yaml:17:26: sources[1].fields.lifecycle.field: invalid column "CustomerTypeCode": want a logical name in lower case, such as customertypecode or _primarycontactid_value`,
			`bad.dynamics.yaml:18:44: sources[1].fields.primary_contact.association_label: association labels are a hubspot feature: use field (an account lookup such as _primarycontactid_value) or property (a contact yes/no column)`,
			`bad.dynamics.yaml:22:11: sources[2].auth.client_id: required by the client_certificate flow`,
			`bad.dynamics.yaml:22:11: sources[2].auth.certificate: required by the client_certificate flow`,
			`bad.dynamics.yaml:23:5: sources[3].base_url: required for source type dynamics: the organization URL, such as https://acme.crm.dynamics.com`,
			`bad.dynamics.yaml:23:5: sources[3].auth: required for source type dynamics: tenant_id, client_id and client_secret, or tenant_id, client_id, certificate and private_key`,
			`bad.dynamics.yaml:27:33: sources[4].auth.tenant_id: only used by source type dynamics`,
			`bad.dynamics.yaml:27:49: sources[4].auth.certificate: only used by source type dynamics`,
			`bad.dynamics.yaml:28:33: sources[4].limits.requests_per_5min: only used by source type dynamics`,
		}},
		{"merge.yaml", []string{
			`merge.yaml:12:5: sources[1].bogus: unknown key`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := parseFile(t, tt.file)
			if err == nil {
				t.Fatal("Parse succeeded, want errors")
			}
			if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, tt.want) {
				t.Errorf("Parse errors:\n%s\nwant:\n%s", err, strings.Join(tt.want, "\n"))
			}
		})
	}
}

// csvDateHelp is what a date_format error says is accepted.
const csvDateHelp = `want a pattern such as DD/MM/YYYY or DD/MM/YYYY HH:mm: YYYY (or AAAA) the year, ` +
	`MM the month and DD (or JJ) the day on 2 digits, M and D (or J) on 1 or 2, HH:mm or HH:mm:ss a time of day, ` +
	`with / - . : spaces or T between them`

// TestParseCSVFormat checks the values a csv source's format keys accept;
// they are kept as written, for the connector to read.
func TestParseCSVFormat(t *testing.T) {
	tests := []struct {
		name string
		keys string
		want [4]string // delimiter, encoding, date_format, decimal
	}{
		{"french export", `{delimiter: ";", encoding: windows-1252, date_format: DD/MM/YYYY, decimal: ","}`,
			[4]string{";", "windows-1252", "DD/MM/YYYY", ","}},
		{"tab escape", `{delimiter: "\t"}`, [4]string{"\t"}},
		{"tab backslash", `{delimiter: '\t'}`, [4]string{`\t`}},
		{"tab word", `{delimiter: tab}`, [4]string{"tab"}},
		{"pipe", `{delimiter: "|"}`, [4]string{"|"}},
		{"comma", `{delimiter: ","}`, [4]string{","}},
		{"auto", `{delimiter: auto}`, [4]string{"auto"}},
		{"latin1", `{encoding: latin1}`, [4]string{1: "latin1"}},
		{"cp1252", `{encoding: CP1252}`, [4]string{1: "CP1252"}},
		{"iso-8859-1", `{encoding: iso-8859-1}`, [4]string{1: "iso-8859-1"}},
		{"utf-8", `{encoding: UTF-8}`, [4]string{1: "UTF-8"}},
		{"date and time", `{date_format: "JJ/MM/AAAA HH:mm"}`, [4]string{2: "JJ/MM/AAAA HH:mm"}},
		{"decimal point", `{decimal: "."}`, [4]string{3: "."}},
		{"none", `{}`, [4]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := "notify: {outbox: out}\nrule_files: [rules/a.yaml]\nsources:\n  - name: fr\n    type: csv\n    path: data\n    <<: " + tt.keys + "\n"
			c, err := Parse("crmsync.yaml", []byte(data), "testdata")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			s := c.Sources[0]
			if got := [4]string{s.Delimiter, s.Encoding, s.DateFormat, s.Decimal}; got != tt.want {
				t.Errorf("keys %s read as %q, want %q", tt.keys, got, tt.want)
			}
		})
	}
}

func TestParseReportsEveryError(t *testing.T) {
	_, err := parseFile(t, "bad.three.yaml")
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("Parse error %T is not a joined error: %v", err, err)
	}
	want := []struct {
		line, col int
		key       string
	}{{2, 3, "redis.namespce"}, {7, 11, "sources[0].type"}, {8, 24, "workers.concurrency"}}
	errs := joined.Unwrap()
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for i, w := range want {
		var e *Error
		if !errors.As(errs[i], &e) {
			t.Fatalf("error %d is %T, want *Error", i, errs[i])
		}
		if e.File != "bad.three.yaml" || e.Line != w.line || e.Column != w.col || e.Key != w.key {
			t.Errorf("error %d = %+v, want %s:%d:%d %s", i, e, "bad.three.yaml", w.line, w.col, w.key)
		}
	}
}

func TestParseEmptyFile(t *testing.T) {
	_, err := Parse("empty.yaml", []byte("# nothing\n"), t.TempDir())
	want := "empty.yaml:1:1: notify: nowhere to deliver: set notify.email.api_key and/or notify.slack.token, or an outbox folder (notify.outbox)\n" +
		"empty.yaml:1:1: rule_files: at least one rule file is required"
	if err == nil || err.Error() != want {
		t.Errorf("Parse(empty) error = %v, want %s", err, want)
	}
}

func TestParseMerge(t *testing.T) {
	data := []byte(`notify: {outbox: out}
rule_files: [rules/a.yaml]
sources:
  - &csv {name: one, type: csv, schedule: "@hourly", path: one}
  - <<: *csv
    name: two
    path: two
`)
	c, err := Parse("crmsync.yaml", data, "testdata")
	if err != nil {
		t.Fatal(err)
	}
	want := Source{Name: "two", Type: "csv", Schedule: "@hourly", StaleAfter: DefaultStaleAfter, Path: "testdata/two"}
	if got := c.Sources[1]; !reflect.DeepEqual(got, want) {
		t.Errorf("merged source = %+v, want %+v", got, want)
	}
}

func TestLoad(t *testing.T) {
	t.Setenv("CRMSYNC_TEST_REDIS_URL", testRedisURL)
	c, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]string{
		"sources[0].path":       c.Sources[0].Path,
		"sources[1].path":       c.Sources[1].Path,
		"notify.outbox":         c.Notify.Outbox,
		"templates":             c.Templates,
		"http.admin_token_file": c.HTTP.AdminTokenFile,
	} {
		want := map[string]string{
			"sources[0].path":       filepath.Join(dir, "data"),
			"sources[1].path":       "/srv/archive",
			"notify.outbox":         filepath.Join(dir, "outbox"),
			"templates":             filepath.Join(dir, "templates"),
			"http.admin_token_file": filepath.Join(dir, "secrets", "admin_token"),
		}[name]
		if got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if got := c.HTTP.AdminToken.Reveal(); got != "admin-token-from-file" {
		t.Errorf("admin token = %q, want the file content without newline", got)
	}
	_, err = Load("testdata/no-such-file.yaml")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) error = %v, want fs.ErrNotExist", err)
	}
}

func TestQuietHoursWindow(t *testing.T) {
	from, to, ok := QuietHours{From: "19:00", To: "08:30"}.Window()
	if !ok || from != 19*time.Hour || to != 8*time.Hour+30*time.Minute {
		t.Errorf("Window() = %v, %v, %v", from, to, ok)
	}
	if _, _, ok := (QuietHours{Weekends: true}).Window(); ok {
		t.Error("Window() without from/to reports a window")
	}
}

func TestParseAliasAbuse(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{
			name: "merge of its own mapping",
			yaml: "notify: {outbox: o}\nrule_files: [x]\nsources:\n  - &csv\n    <<: *csv\n    name: o\n    type: csv\n    path: p\n",
			want: "crmsync.yaml:5:9: sources[0]: merge key refers to its own mapping",
		},
		{
			name: "alias bomb",
			yaml: "notify: {outbox: o}\nrule_files: [x]\nsources:\n" + aliasBomb(),
			want: "too many aliases (more than 10000)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("crmsync.yaml", []byte(tt.yaml), "/")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %v, want %q", err, tt.want)
			}
		})
	}
}

// aliasBomb returns a list of sources whose merge keys double at each level.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("  - &s0 {name: a, type: csv, path: p}\n")
	for i := 1; i < 30; i++ {
		fmt.Fprintf(&b, "  - &s%d {<<: [*s%d, *s%d]}\n", i, i-1, i-1)
	}
	return b.String()
}

func TestNamespace(t *testing.T) {
	t.Setenv("CRMSYNC_TEST_NS", "staging")
	t.Setenv("CRMSYNC_TEST_EMPTY", "")
	const invalid = `(want letters, digits, "-", "_" and ".", with at most one {hash tag}; no spaces or ":")`
	tests := []struct {
		yaml string // the value of redis.namespace
		want string // the namespace, or the error without its position
	}{
		{"crmsync", "crmsync"},
		{"prod-crm_2.eu", "prod-crm_2.eu"},
		{`"{crmsync}"`, "{crmsync}"}, // quoted: YAML reads {crmsync} as a mapping
		{"prod-{crm}", "prod-{crm}"},
		{`"{crm}-prod"`, "{crm}-prod"},
		{"${CRMSYNC_TEST_NS}", "staging"},
		{"crm-${CRMSYNC_TEST_NS}", "crm-staging"},
		{`"${CRMSYNC_TEST_EMPTY:-crm}"`, "crm"},
		{strings.Repeat("n", 64), strings.Repeat("n", 64)},
		{`""`, "redis.namespace: must not be empty"},
		{`"${CRMSYNC_TEST_EMPTY}"`, "redis.namespace: must not be empty"},
		{strings.Repeat("n", 65), "redis.namespace: too long: 65 characters (at most 64)"},
		{`"prod:crm"`, `redis.namespace: invalid namespace "prod:crm" ` + invalid},
		{`"crm:"`, `redis.namespace: invalid namespace "crm:" ` + invalid},
		{`"prod crm"`, `redis.namespace: invalid namespace "prod crm" ` + invalid},
		{`"crm\t"`, `redis.namespace: invalid namespace "crm\t" ` + invalid},
		{`"crm/prod"`, `redis.namespace: invalid namespace "crm/prod" ` + invalid},
		{`"crm*"`, `redis.namespace: invalid namespace "crm*" ` + invalid},
		{`"crmé"`, `redis.namespace: invalid namespace "crmé" ` + invalid},
		{`"{}"`, `redis.namespace: invalid namespace "{}" ` + invalid},
		{`"{a}{b}"`, `redis.namespace: invalid namespace "{a}{b}" ` + invalid},
		{`"{a{b}}"`, `redis.namespace: invalid namespace "{a{b}}" ` + invalid},
		{`"{crm"`, `redis.namespace: invalid namespace "{crm" ` + invalid},
		{`"crm}"`, `redis.namespace: invalid namespace "crm}" ` + invalid},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			data := "redis:\n  namespace: " + tt.yaml + "\nnotify: {outbox: o}\nrule_files: [rules/a.yaml]\n"
			c, err := Parse("crmsync.yaml", []byte(data), "testdata")
			if err != nil {
				if want := "crmsync.yaml:2:14: " + tt.want; err.Error() != want {
					t.Errorf("Parse error = %v\nwant %s", err, want)
				}
				return
			}
			if c.Redis.Namespace != tt.want {
				t.Errorf("namespace = %q, want %q", c.Redis.Namespace, tt.want)
			}
		})
	}
}

func TestFromEmail(t *testing.T) {
	tests := []struct {
		name   string
		notify string
		want   string // error; "" when valid
	}{
		{"an address", "{outbox: o, email: {from: {email: success@example.com}}}", ""},
		{"a punycode domain", "{outbox: o, email: {from: {email: hello@xn--mller-kva.de}}}", ""},
		{"no dot in the domain", "{outbox: o, email: {from: {email: hello@mail}}}",
			`crmsync.yaml:1:43: notify.email.from.email: invalid email address "hello@mail" (want one SendGrid accepts, such as success@example.com)`},
		{"a display name", `{outbox: o, email: {from: {email: "Us <us@example.com>"}}}`,
			`crmsync.yaml:1:43: notify.email.from.email: invalid email address "Us <us@example.com>" (want one SendGrid accepts, such as success@example.com)`},
		{"a one-letter TLD", "{outbox: o, email: {from: {email: a@b.c}}}",
			`crmsync.yaml:1:43: notify.email.from.email: invalid email address "a@b.c" (want one SendGrid accepts, such as success@example.com)`},
		{"no address", "{outbox: o, email: {from: {name: Us}}}",
			`crmsync.yaml:1:35: notify.email.from.email: required`},
		{"the default, for a dry run", "{outbox: o}", ""},
		{"the default written out, for a dry run", "{outbox: o, email: {from: {email: crmsync@localhost}}}", ""},
		{"the default, with SendGrid and an outbox", "{outbox: o, email: {api_key: SG.x}}", ""},
		{"the default, with SendGrid", "{email: {api_key: SG.x}}",
			`crmsync.yaml:1:17: notify.email.from.email: SendGrid refuses the default sender "crmsync@localhost" (set the address SendGrid sends from)`},
		{"the default written out, with SendGrid", "{email: {api_key: SG.x, from: {email: crmsync@localhost}}}",
			`crmsync.yaml:1:47: notify.email.from.email: SendGrid refuses the default sender "crmsync@localhost" (set the address SendGrid sends from)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := "notify: " + tt.notify + "\nrule_files: [rules/a.yaml]\n"
			_, err := Parse("crmsync.yaml", []byte(data), "testdata")
			if got := fmt.Sprint(err); tt.want == "" && err != nil || tt.want != "" && got != tt.want {
				t.Errorf("Parse error = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestParseLanguageFields(t *testing.T) {
	c, err := parseFile(t, "good.language.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := []*LanguageField{
		{Account: "company_language"},
		{Contact: "Language__c", Account: "Preferred_Language__c"},
	}
	if len(c.Sources) != len(want) {
		t.Fatalf("got %d sources, want %d", len(c.Sources), len(want))
	}
	for i, w := range want {
		if got := c.Sources[i].Fields.Language; got == nil || *got != *w {
			t.Errorf("sources[%d].fields.language = %+v, want %+v", i, got, w)
		}
	}
}

// TestParseDynamics: a dynamics source takes its organization URL, Entra
// credentials (a client secret or a certificate) and its request pace,
// with defaults for the API version and the pace.
func TestParseDynamics(t *testing.T) {
	c, err := parseFile(t, "good.dynamics.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		i                      int
		flow, version, baseURL string
		per5Min                int
	}{
		{0, FlowClientCredentials, DefaultDynamicsAPIVersion, "https://acme.crm4.dynamics.com", DefaultDynamicsRequestsPer5Min},
		{1, FlowClientCertificate, "v9.1", "https://acme.crm9.dynamics.com/", 6000},
	}
	for _, tt := range tests {
		s := c.Sources[tt.i]
		if s.Auth.Flow() != tt.flow || s.APIVersion != tt.version || s.BaseURL != tt.baseURL || s.Limits.RequestsPer5Min != tt.per5Min {
			t.Errorf("sources[%d] = flow %q, version %q, base %q, %d/5min; want %q, %q, %q, %d", tt.i,
				s.Auth.Flow(), s.APIVersion, s.BaseURL, s.Limits.RequestsPer5Min, tt.flow, tt.version, tt.baseURL, tt.per5Min)
		}
	}
	if a := c.Sources[0].Auth; a.TenantID != "contoso.onmicrosoft.com" || a.ClientSecret.Reveal() == "" {
		t.Errorf("sources[0].auth = tenant %q, secret read %v", a.TenantID, a.ClientSecret.Reveal() != "")
	}
	a := c.Sources[1].Auth
	if !strings.HasPrefix(a.Certificate.Reveal(), "-----BEGIN CERTIFICATE-----") || a.PrivateKey.Reveal() == "" ||
		a.TokenURL != "https://login.microsoftonline.us/contoso/oauth2/v2.0/token" || a.Scope != "https://acme.crm9.dynamics.com/.default" {
		t.Errorf("sources[1].auth = %+v", a)
	}
	if got := fmt.Sprint(a.Certificate); got != "<secret>" {
		t.Errorf("certificate prints %q, want <secret>", got)
	}
}

// TestDynamicsAuth: which credentials a dynamics source accepts.
func TestDynamicsAuth(t *testing.T) {
	tests := []struct {
		name, auth string
		want       []string // error lines; none means valid
	}{
		{"secret", "{tenant_id: t, client_id: c, client_secret: s}", nil},
		{"certificate", "{tenant_id: t, client_id: c, certificate: cert, private_key: k}", nil},
		{"token url instead of tenant", "{client_id: c, client_secret: s, token_url: https://login.example.us/t/oauth2/v2.0/token}", nil},
		{"no tenant", "{client_id: c, client_secret: s}", []string{"sources[0].auth.tenant_id: required for source type dynamics (unless auth.token_url is set)"}},
		{"no client id", "{tenant_id: t, client_secret: s}", []string{"sources[0].auth.client_id: required by the client_credentials flow"}},
		{"certificate without key", "{tenant_id: t, client_id: c, certificate: cert}", []string{"sources[0].auth.private_key: required by the client_certificate flow"}},
		{"key without certificate", "{tenant_id: t, client_id: c, private_key: k}", []string{"sources[0].auth.certificate: required by the client_certificate flow"}},
		{"refresh token", "{tenant_id: t, client_id: c, client_secret: s, refresh_token: r}", []string{"sources[0].auth: dynamics takes a client secret"}},
		{"salesforce keys", "{tenant_id: t, client_id: c, client_secret: s, audience: a}", []string{"sources[0].auth.audience: not used by source type dynamics"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "  - {name: d, type: dynamics, base_url: https://acme.crm.dynamics.com, auth: " + tt.auth + "}\n"
			err := parseWant(t, src, tt.want)
			if err == nil {
				return
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != len(tt.want) {
				t.Errorf("Parse gave %d errors, want %d:\n%v", n, len(tt.want), err)
			}
		})
	}
}
