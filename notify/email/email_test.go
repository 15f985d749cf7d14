package email

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/crmsync/crmsync/internal/golden"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
)

func normalData() notify.Data {
	days := 130
	return notify.Data{
		Rule:        "inactive-90-days",
		Description: "Client with no recorded activity for 90 days",
		Severity:    "info",
		Account: model.Account{
			Ref: model.NewRef("hubspot", "42"), Name: "Acme Industries", Lifecycle: model.Customer,
			URL: "https://app.hubspot.com/contacts/1/company/42",
		},
		Contact:           &model.Contact{FirstName: "Jane", LastName: "Doe", Email: "jane@acme.example", Title: "Head of Purchasing"},
		Owner:             &model.Owner{Name: "Sam Rep", Email: "sam@example.com"},
		Revenue12m:        12345.6,
		RevenuePrev12m:    30000,
		RevenueTrend:      0.41,
		DaysInactive:      97,
		DaysSincePurchase: &days,
		ABC:               "A",
		Now:               time.Date(2025, 3, 3, 7, 0, 0, 0, time.UTC),
	}
}

func hostileData() notify.Data {
	d := normalData()
	d.Account.Name = "<!channel> Corp\r\nBcc: victim@example.com"
	d.Contact = &model.Contact{FirstName: "<script>alert(1)</script>", Email: "x@example.com"}
	d.Owner = &model.Owner{Name: "Bob *bold* & co", Email: "bob@example.com"}
	return d
}

func bareData() notify.Data {
	d := normalData()
	d.Contact, d.Owner, d.DaysSincePurchase = nil, nil, nil
	return d
}

func newRenderer(t *testing.T) *Renderer {
	t.Helper()
	r, err := NewRenderer(nil)
	if err != nil {
		t.Fatalf("NewRenderer: %v", err)
	}
	return r
}

func render(t *testing.T, r *Renderer, name string, d notify.Data) (subject, text, html string) {
	t.Helper()
	subject, text, html, err := r.Render(name, d)
	if err != nil {
		t.Fatalf("Render(%s): %v", name, err)
	}
	return subject, text, html
}

// goldenCase is data whose emails golden files hold, under its name.
type goldenCase struct {
	name string
	data notify.Data
}

// assertGoldens renders both built-in templates for each case and
// compares them with testdata/<template>.<case>.golden.
func assertGoldens(t *testing.T, cases []goldenCase) {
	r := newRenderer(t)
	for _, tmpl := range []string{"reengage-90d", "high-value-checkin"} {
		for _, c := range cases {
			t.Run(tmpl+"/"+c.name, func(t *testing.T) {
				subject, text, html := render(t, r, tmpl, c.data)
				golden.Assert(t, tmpl+"."+c.name, "Subject: "+subject+"\n\n--- text ---\n"+text+"\n--- html ---\n"+html)
			})
		}
	}
}

func TestRenderGolden(t *testing.T) {
	assertGoldens(t, []goldenCase{
		{"normal", normalData()},
		{"hostile", hostileData()},
		{"no-contact-no-owner", bareData()},
	})
}

func TestRenderEscapesHostileData(t *testing.T) {
	r := newRenderer(t)
	for _, name := range r.Names() {
		t.Run(name, func(t *testing.T) {
			subject, _, html := render(t, r, name, hostileData())
			if strings.ContainsAny(subject, "\r\n") {
				t.Errorf("subject has a line break: %q", subject)
			}
			for _, raw := range []string{"<script>", "<!channel>", "& co"} {
				if strings.Contains(html, raw) {
					t.Errorf("html contains unescaped %q", raw)
				}
			}
			for _, esc := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;!channel&gt; Corp", "Bob *bold* &amp; co"} {
				if !strings.Contains(html, esc) {
					t.Errorf("html lacks escaped %q", esc)
				}
			}
		})
	}
}

func TestRenderFallbacks(t *testing.T) {
	r := newRenderer(t)
	_, text, html := render(t, r, "reengage-90d", bareData())
	for _, want := range []string{"Hello,", "Acme Industries", "Your account team"} {
		if !strings.Contains(text, want) || !strings.Contains(html, want) {
			t.Errorf("text or html lacks %q", want)
		}
	}
	_, text, html = render(t, r, "reengage-90d", normalData())
	for _, want := range []string{"Hi Jane,", "Sam Rep", "sam@example.com"} {
		if !strings.Contains(text, want) || !strings.Contains(html, want) {
			t.Errorf("text or html lacks %q", want)
		}
	}
	if !strings.Contains(html, `href="mailto:sam@example.com"`) {
		t.Error("html signature lacks the owner's mailto link")
	}
}

func TestRenderUnknown(t *testing.T) {
	_, _, _, err := newRenderer(t).Render("nope", normalData())
	if !errors.Is(err, ErrUnknownTemplate) {
		t.Fatalf("err = %v, want ErrUnknownTemplate", err)
	}
}

func TestBuiltinsPassCheck(t *testing.T) {
	r := newRenderer(t)
	if got := strings.Join(r.Names(), ","); got != "high-value-checkin,reengage-90d" {
		t.Fatalf("Names = %s", got)
	}
	for _, name := range r.Names() {
		if err := r.Check(name); err != nil {
			t.Errorf("Check(%s): %v", name, err)
		}
	}
}

const okText = `{{define "subject"}}Custom {{.Account.Name}}{{end}}{{define "text"}}Custom body{{end}}`

func TestOverrides(t *testing.T) {
	over := fstest.MapFS{
		"email/reengage-90d.txt.tmpl":  {Data: []byte(okText)},
		"email/welcome.txt.tmpl":       {Data: []byte(okText)},
		"email/welcome.html.tmpl":      {Data: []byte(`{{define "html"}}<p>{{.Account.Name}}</p>{{end}}`)},
		"email/README.md":              {Data: []byte("ignored")},
		"other/ignored.txt.tmpl":       {Data: []byte("{{")},
		"email/high-value-checkin.txt": {Data: []byte("not a template")},
	}
	r, err := NewRenderer(over)
	if err != nil {
		t.Fatalf("NewRenderer: %v", err)
	}
	if got := strings.Join(r.Names(), ","); got != "high-value-checkin,reengage-90d,welcome" {
		t.Errorf("Names = %s", got)
	}
	subject, text, html := render(t, r, "reengage-90d", normalData())
	if subject != "Custom Acme Industries" || text != "Custom body" || html != "" {
		t.Errorf("override not used whole: %q %q %q", subject, text, html)
	}
	if _, _, html = render(t, r, "welcome", hostileData()); !strings.Contains(html, "&lt;!channel&gt;") {
		t.Errorf("added template html = %q", html)
	}
	if _, _, html = render(t, r, "high-value-checkin", normalData()); html == "" {
		t.Error("built-in high-value-checkin lost its html part")
	}
}

func TestOverrideErrors(t *testing.T) {
	tests := []struct {
		name  string
		files fstest.MapFS
		want  string
	}{
		{"syntax error", fstest.MapFS{"email/bad.txt.tmpl": {Data: []byte(`{{define "subject"}}{{.Account.Name{{end}}`)}}, "email/bad.txt.tmpl"},
		{"html syntax error", fstest.MapFS{
			"email/bad.txt.tmpl":  {Data: []byte(okText)},
			"email/bad.html.tmpl": {Data: []byte(`{{define "html"}}{{if}}{{end}}`)},
		}, "email/bad.html.tmpl"},
		{"no subject", fstest.MapFS{"email/bad.txt.tmpl": {Data: []byte(`{{define "text"}}x{{end}}`)}}, `email/bad.txt.tmpl: no {{define "subject"}}`},
		{"no html define", fstest.MapFS{
			"email/bad.txt.tmpl":  {Data: []byte(okText)},
			"email/bad.html.tmpl": {Data: []byte(`<p>hi</p>`)},
		}, `email/bad.html.tmpl: no {{define "html"}}`},
		{"html without text", fstest.MapFS{"email/bad.html.tmpl": {Data: []byte(`{{define "html"}}x{{end}}`)}}, "email/bad.html.tmpl: no bad.txt.tmpl"},
		{"misnamed file", fstest.MapFS{"email/bad.tmpl": {Data: []byte(okText)}}, "email/bad.tmpl"},
		{"unknown function", fstest.MapFS{"email/bad.txt.tmpl": {Data: []byte(`{{define "subject"}}{{nope}}{{end}}`)}}, "email/bad.txt.tmpl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRenderer(tt.files)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestCheckCatchesBadFields(t *testing.T) {
	tests := []struct {
		name string
		text string
		want string
	}{
		{"misspelt field", `{{define "subject"}}{{.Account.Nmae}}{{end}}{{define "text"}}x{{end}}`, "Nmae"},
		{"unguarded nil contact", `{{define "subject"}}x{{end}}{{define "text"}}{{.Contact.FirstName}}{{end}}`, "no contact, owner or purchase"},
		{"unguarded nil purchase", `{{define "subject"}}x{{end}}{{define "text"}}Last purchase {{.DaysSincePurchase}} days ago{{end}}`, `prints "<nil>"`},
		{"missing map key", `{{define "subject"}}x{{end}}{{define "text"}}{{.Account.Extra.industry}}{{end}}`, `prints "<no value>"`},
		{"empty subject", `{{define "subject"}} {{"\n"}} {{end}}{{define "text"}}x{{end}}`, "empty subject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRenderer(fstest.MapFS{"email/custom.txt.tmpl": {Data: []byte(tt.text)}})
			if err != nil {
				t.Fatalf("NewRenderer: %v", err)
			}
			err = r.Check("custom")
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "email/custom.txt.tmpl") {
				t.Fatalf("Check err = %v, want it to name the file and contain %q", err, tt.want)
			}
		})
	}
	if err := newRenderer(t).Check("nope"); !errors.Is(err, ErrUnknownTemplate) {
		t.Errorf("Check(nope) = %v, want ErrUnknownTemplate", err)
	}
}

func TestUnsubscribeLink(t *testing.T) {
	r, err := NewRenderer(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range r.Names() {
		d := normalData()
		_, text, html, err := r.Render(name, d)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(text+html, "asm_group_unsubscribe") {
			t.Errorf("%s: unsubscribe link without an unsubscribe group", name)
		}
		d.Unsubscribe = true
		_, text, html, err = r.Render(name, d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(html, `href="<%asm_group_unsubscribe_raw_url%>"`) || !strings.Contains(text, "<%asm_group_unsubscribe_raw_url%>") {
			t.Errorf("%s: SendGrid's unsubscribe tag is missing or escaped:\n%s\n%s", name, text, html)
		}
	}
}

// speaking returns d with the contact's and the account's languages and
// the configured locale.
func speaking(d notify.Data, contact, account, configured string) notify.Data {
	if d.Contact != nil {
		c := *d.Contact
		c.Language = contact
		d.Contact = &c
	}
	d.Account.Language, d.Locale, d.Currency = account, configured, "EUR"
	return d
}

func TestRenderGoldenByLanguage(t *testing.T) {
	assertGoldens(t, []goldenCase{
		{"fr.contact", speaking(normalData(), "fr-FR", "", "en")},
		{"en.contact", speaking(normalData(), "en-GB", "fr", "fr")},
		{"fr.hostile", speaking(hostileData(), "fr_CA", "", "en")},
		{"fr.no-contact-no-owner", speaking(bareData(), "", "FR", "en")},
	})
}

func TestRenderPicksLanguage(t *testing.T) {
	r := newRenderer(t)
	tests := []struct {
		name                         string
		contact, account, configured string
		want                         string // a word of the body
	}{
		{"contact's language first", "fr", "en", "en", "Bonjour Jane"},
		{"contact's regional tag", "fr-CA", "", "en", "Bonjour Jane"},
		{"English contact, French config", "en", "fr", "fr", "Hi Jane"},
		{"account's when the contact has none", "", "fr", "en", "Bonjour Jane"},
		{"untranslated language: the account's", "de", "fr", "en", "Bonjour Jane"},
		{"untranslated languages: the config's", "de", "it", "fr", "Bonjour Jane"},
		{"nothing known: English", "", "", "", "Hi Jane"},
		{"untranslated everywhere: the default", "de", "", "en", "Hi Jane"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, text, html := render(t, r, "reengage-90d", speaking(normalData(), tt.contact, tt.account, tt.configured))
			if !strings.Contains(text, tt.want) || !strings.Contains(html, tt.want) {
				t.Errorf("text or html lacks %q:\n%s", tt.want, text)
			}
		})
	}
}

func TestMoneyFollowsLanguageAndCurrency(t *testing.T) {
	body := `{{define "subject"}}x{{end}}{{define "text"}}{{money .Revenue12m}}|{{money .Revenue12m "USD"}}|{{percent .RevenueTrend}}|{{date .Now}}|{{days .DaysInactive}}{{end}}`
	r, err := NewRenderer(fstest.MapFS{
		"email/figures.txt.tmpl":    {Data: []byte(body)},
		"email/figures.fr.txt.tmpl": {Data: []byte(body)},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		lang, currency, want string
	}{
		{"en", "EUR", "€12,346|$12,346|-59%|Mar 3, 2025|97 days"},
		{"en", "", "12,346|$12,346|-59%|Mar 3, 2025|97 days"},
		{"fr", "EUR", "12\u202f346\u202f€|12\u202f346\u202f$US|-59\u202f%|3 mars 2025|97 jours"},
	}
	for _, tt := range tests {
		d := normalData()
		d.Locale, d.Currency = tt.lang, tt.currency
		if _, text, _ := render(t, r, "figures", d); text != tt.want {
			t.Errorf("%s %s: %q, want %q", tt.lang, tt.currency, text, tt.want)
		}
	}
	bad, err := NewRenderer(fstest.MapFS{"email/bad.txt.tmpl": {Data: []byte(`{{define "subject"}}{{money 1.0 "EUR" "x"}}{{end}}{{define "text"}}x{{end}}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Check("bad"); err == nil || !strings.Contains(err.Error(), "at most one currency") {
		t.Errorf("money with two codes: Check = %v", err)
	}
}

func TestTranslations(t *testing.T) {
	fr := speaking(normalData(), "fr", "", "en")
	t.Run("a user's default replaces the built-in translations", func(t *testing.T) {
		r, err := NewRenderer(fstest.MapFS{"email/reengage-90d.txt.tmpl": {Data: []byte(okText)}})
		if err != nil {
			t.Fatal(err)
		}
		if _, text, _ := render(t, r, "reengage-90d", fr); text != "Custom body" {
			t.Errorf("French contact got %q, want the user's template", text)
		}
		if got := r.Languages("reengage-90d"); len(got) != 1 {
			t.Errorf("languages = %q, want the default only", got)
		}
	})
	t.Run("a user's translation replaces one language", func(t *testing.T) {
		r, err := NewRenderer(fstest.MapFS{"email/reengage-90d.fr.txt.tmpl": {Data: []byte(`{{define "subject"}}Bonjour{{end}}{{define "text"}}Sur mesure{{end}}`)}})
		if err != nil {
			t.Fatal(err)
		}
		if _, text, html := render(t, r, "reengage-90d", fr); text != "Sur mesure" || html != "" {
			t.Errorf("French contact got %q / %q, want the user's text-only translation", text, html)
		}
		if _, text, _ := render(t, r, "reengage-90d", normalData()); !strings.Contains(text, "Hi Jane") {
			t.Errorf("English contact lost the built-in template: %q", text)
		}
	})
	t.Run("a user's own template in the configured language", func(t *testing.T) {
		r, err := NewRenderer(fstest.MapFS{
			"email/relance.txt.tmpl":    {Data: []byte(`{{define "subject"}}Relance{{end}}{{define "text"}}{{money .Revenue12m}}{{end}}`)},
			"email/relance.de.txt.tmpl": {Data: []byte(`{{define "subject"}}Hallo{{end}}{{define "text"}}de {{money .Revenue12m}}{{end}}`)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, text, _ := render(t, r, "relance", speaking(normalData(), "en", "", "fr")); text != "12\u202f346\u202f€" {
			t.Errorf("default files of a user's template = %q, want them formatted in the configured locale", text)
		}
		if _, text, _ := render(t, r, "relance", speaking(normalData(), "de-AT", "", "fr")); text != "de €12,346" {
			t.Errorf("German translation = %q, want it picked (figures in the default format)", text)
		}
	})
	errTests := []struct {
		name  string
		files fstest.MapFS
		want  string
	}{
		{"translation without default", fstest.MapFS{"email/welcome.fr.txt.tmpl": {Data: []byte(okText)}}, "email/welcome.fr.txt.tmpl: no welcome.txt.tmpl"},
		{"bad language", fstest.MapFS{"email/welcome.french.txt.tmpl": {Data: []byte(okText)}}, "email/welcome.french.txt.tmpl: want a name"},
		{"upper-case language", fstest.MapFS{"email/welcome.FR.txt.tmpl": {Data: []byte(okText)}}, "email/welcome.FR.txt.tmpl: want a name"},
		{"translation's html without text", fstest.MapFS{
			"email/reengage-90d.de.html.tmpl": {Data: []byte(`{{define "html"}}x{{end}}`)},
		}, "email/reengage-90d.de.html.tmpl: no reengage-90d.de.txt.tmpl"},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRenderer(tt.files)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestCheckCoversTranslations(t *testing.T) {
	r, err := NewRenderer(fstest.MapFS{
		"email/custom.txt.tmpl":    {Data: []byte(okText)},
		"email/custom.fr.txt.tmpl": {Data: []byte(`{{define "subject"}}x{{end}}{{define "text"}}{{.Contact.FirstName}}{{end}}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = r.Check("custom")
	if err == nil || !strings.Contains(err.Error(), "email/custom.fr.txt.tmpl") {
		t.Fatalf("Check = %v, want the French file's unguarded contact", err)
	}
}

func TestRenderConcurrent(t *testing.T) {
	r := newRenderer(t)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			lang := []string{"en", "fr"}[i%2]
			for range 20 {
				if _, _, _, err := r.Render("high-value-checkin", speaking(normalData(), lang, "", "en")); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
