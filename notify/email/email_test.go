package email

import (
	"errors"
	"github.com/crmsync/crmsync/internal/golden"
	"strings"
	"testing"
	"testing/fstest"
	"time"

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

func TestRenderGolden(t *testing.T) {
	r := newRenderer(t)
	cases := []struct {
		name string
		data notify.Data
	}{
		{"normal", normalData()},
		{"hostile", hostileData()},
		{"no-contact-no-owner", bareData()},
	}
	for _, tmpl := range []string{"reengage-90d", "high-value-checkin"} {
		for _, c := range cases {
			t.Run(tmpl+"/"+c.name, func(t *testing.T) {
				subject, text, html := render(t, r, tmpl, c.data)
				golden.Assert(t, tmpl+"."+c.name, "Subject: "+subject+"\n\n--- text ---\n"+text+"\n--- html ---\n"+html)
			})
		}
	}
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
