package slack

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/crmsync/crmsync/internal/golden"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
)

func normalData() notify.Data {
	days := 130
	return notify.Data{
		Rule:        "inactive-90-days",
		Description: "Client with no recorded activity for 90 days",
		Title:       "Client with no recorded activity for 90 days",
		Severity:    "info",
		Account: model.Account{
			Ref: model.NewRef("hubspot", "42"), Name: "Acme Industries", Lifecycle: model.Customer,
			URL: "https://app.hubspot.com/contacts/1/company/42?tab=activity&view=all",
		},
		Contact: &model.Contact{
			FirstName: "Jane", LastName: "Doe", Email: "jane@acme.example",
			Title: "Head of Purchasing", Phone: "+33 1 23 45 67 89",
		},
		Owner:             &model.Owner{Name: "Sam Rep", Email: "sam@example.com"},
		Revenue12m:        12345.6,
		RevenuePrev12m:    30000,
		RevenueTrend:      0.41152,
		DaysInactive:      97,
		DaysSincePurchase: &days,
		ABC:               "A",
		Now:               time.Date(2025, 3, 3, 7, 0, 0, 0, time.UTC),
	}
}

func criticalData() notify.Data {
	d := normalData()
	d.Rule, d.Severity, d.Description, d.Title = "high-value-churning", "critical", "", ""
	return d
}

func hostileData() notify.Data {
	d := normalData()
	d.Account.Name = "<!channel> Corp"
	d.Contact = &model.Contact{FirstName: "<script>alert(1)</script>", Email: "x@evil.example>|<!here>", Title: "_Boss_ & `root`"}
	d.Owner = &model.Owner{Name: "Bob *bold* & co", Email: "bob@example.com"}
	d.Description = "Quiet & <b>risky</b>"
	d.Title = "Quiet: <!channel> Corp <script>"
	return d
}

// upsellData is an upsell rule with its own title about an account active
// 22 days ago, whose revenue grows.
func upsellData(lang string) notify.Data {
	d := normalData()
	d.Rule, d.Severity, d.Description = "upsell-growing", "info", "Growing account: offer the next tier"
	d.Title, d.Locale, d.Currency = "Upsell: Acme Industries", lang, "EUR"
	d.Revenue12m, d.RevenuePrev12m, d.RevenueTrend, d.DaysInactive = 48200, 35000, 48200.0/35000, 22
	return d
}

// localized returns d in lang with amounts in EUR.
func localized(d notify.Data, lang string) notify.Data {
	d.Locale, d.Currency = lang, "EUR"
	return d
}

// hostileText is a rule's line as the rules package renders it from a
// template printing hostile CRM values: every value went through Escape.
var hostileText = Escape("<!channel> R&D at <@U123> <https://evil.example|click here>") + " is quiet"

func bareData() notify.Data {
	d := normalData()
	d.Contact, d.Owner, d.DaysSincePurchase = nil, nil, nil
	d.RevenuePrev12m, d.RevenueTrend = 0, 1
	d.Account.URL = ""
	return d
}

func render(t *testing.T, d notify.Data, text string) (string, json.RawMessage) {
	t.Helper()
	return renderFor(t, d, text, ToRep)
}

func renderFor(t *testing.T, d notify.Data, text string, aud Audience) (string, json.RawMessage) {
	t.Helper()
	fallback, blocks, err := Render(d, text, aud)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return fallback, blocks
}

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		name string
		data notify.Data
		text string
		aud  Audience
	}{
		{"info-default-line", normalData(), "", ToRep},
		{"critical-default-line", criticalData(), "", ToRep},
		{"custom-text", normalData(), "Acme has been quiet for 97 days, *call them*", ToRep},
		{"hostile", hostileData(), hostileText, ToRep},
		{"no-contact-owner-purchase", bareData(), "", ToRep},
		{"upsell-title.en", upsellData("en"), "", ToRep},
		{"upsell-title.fr", upsellData("fr"), "", ToRep},
		{"critical-default-line.fr", localized(criticalData(), "fr"), "", ToRep},
		{"channel-copy.en", localized(normalData(), "en"), "", ToChannel},
		{"channel-copy.fr", localized(normalData(), "fr"), "", ToChannel},
		{"hostile-channel-copy.fr", localized(hostileData(), "fr"), hostileText, ToChannel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fallback, blocks := renderFor(t, tt.data, tt.text, tt.aud)
			var b bytes.Buffer
			if err := json.Indent(&b, blocks, "", "  "); err != nil {
				t.Fatalf("blocks are not JSON: %v", err)
			}
			golden.Assert(t, tt.name, "fallback: "+fallback+"\n\n"+b.String()+"\n")
		})
	}
}

func TestHeadlineFromRule(t *testing.T) {
	tests := []struct {
		name string
		data notify.Data
		want string
	}{
		{"the rule's title", upsellData("en"), ":wave: Upsell: Acme Industries"},
		{"the rule's title in French", upsellData("fr"), ":wave: Upsell: Acme Industries"},
		{"no title, critical", criticalData(), ":warning: Client needs attention: Acme Industries"},
		{"no title, French", localized(criticalData(), "fr"), ":warning: Client à suivre\u00a0: Acme Industries"},
		{"hostile title", hostileData(), ":wave: Quiet: &lt;!channel&gt; Corp &lt;script&gt;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, blocks := render(t, tt.data, "")
			h := block(t, blocks, "header")["text"].(map[string]any)["text"].(string)
			if h != tt.want {
				t.Errorf("header = %q, want %q", h, tt.want)
			}
		})
	}
	fallback, blocks := render(t, upsellData("en"), "")
	for _, quiet := range []string{"quiet", "Quiet", "slipping"} {
		if strings.Contains(fallback+string(blocks), quiet) {
			t.Errorf("an upsell nudge for an account active 22 days ago says %q:\n%s\n%s", quiet, fallback, blocks)
		}
	}
}

// texts returns every string of the decoded blocks except URLs, keyed by
// nothing: what Slack would parse or show.
func texts(t *testing.T, blocks json.RawMessage) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(blocks, &v); err != nil {
		t.Fatalf("blocks are not JSON: %v", err)
	}
	var out []string
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch v := v.(type) {
		case string:
			if key != "url" {
				out = append(out, v)
			}
		case []any:
			for _, e := range v {
				walk(key, e)
			}
		case map[string]any:
			for k, e := range v {
				walk(k, e)
			}
		}
	}
	walk("", v)
	return out
}

var (
	// Render's own links; any other < or > in a text is a failure.
	ownLink = regexp.MustCompile(`<mailto:[^|<>]+\|[^<>]*>`)
	// A & may only start one of Slack's three entities.
	entity = regexp.MustCompile(`&(?:amp|lt|gt);`)
)

func TestRenderNeutralisesHostileData(t *testing.T) {
	fallback, blocks := render(t, hostileData(), hostileText)
	all := append(texts(t, blocks), fallback)
	joined := strings.Join(all, "\n")
	for _, s := range all {
		if strings.ContainsAny(ownLink.ReplaceAllString(s, ""), "<>") {
			t.Errorf("unescaped < or > in %q", s)
		}
		if strings.Count(s, "&") != len(entity.FindAllString(s, -1)) {
			t.Errorf("unescaped & in %q", s)
		}
	}
	for _, raw := range []string{"<!channel>", "<!here>", "<script>", "<@U123>", "<https://evil", "Bob *bold*", "_Boss_", "`root`"} {
		if strings.Contains(joined, raw) {
			t.Errorf("blocks or fallback contain raw %q", raw)
		}
	}
	for _, esc := range []string{"&lt;!channel&gt; Corp", "&lt;script&gt;", "R&amp;D", "&lt;@U123&gt;", "Bob \u200b*\u200bbold\u200b*\u200b &amp; co"} {
		if !strings.Contains(joined, esc) {
			t.Errorf("blocks or fallback lack escaped %q", esc)
		}
	}
	if !strings.Contains(fallback, "&lt;!channel&gt; Corp") {
		t.Errorf("fallback not escaped: %q", fallback)
	}
	if strings.Contains(joined, "<mailto:") {
		t.Error("a crafted email address was made into a link")
	}
}

func TestEscape(t *testing.T) {
	z := "\u200b"
	tests := []struct{ in, want string }{
		{"Acme Industries", "Acme Industries"},
		{"<!channel> Corp", "&lt;!channel&gt; Corp"},
		{"R&D", "R&amp;D"},
		{"*Bold* Ltd", z + "*" + z + "Bold" + z + "*" + z + " Ltd"},
		{"_it_", z + "_" + z + "it" + z + "_" + z},
		{"~x~", z + "~" + z + "x" + z + "~" + z},
		{"`c`", z + "`" + z + "c" + z + "`" + z},
		{"> quote", "&gt; quote"},
		{"&amp;", "&amp;amp;"},
	}
	for _, tt := range tests {
		if got := Escape(tt.in); got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDefaultLine(t *testing.T) {
	bare := criticalData()
	bare.RevenuePrev12m, bare.RevenueTrend = 0, 1
	none := bare
	none.Revenue12m, none.DaysInactive = 0, 0
	tests := []struct {
		name string
		data notify.Data
		want string
	}{
		{"falling trend", normalData(), "*Acme Industries*: revenue -59% vs the previous 12 months, last activity 97 days ago."},
		{"no previous revenue", bare, "*Acme Industries*: revenue 12,346 over the last 12 months, last activity 97 days ago."},
		{"nothing but today", none, "*Acme Industries*: active today."},
		{"French, in euros", localized(normalData(), "fr"), "*Acme Industries*\u00a0: chiffre d'affaires -59\u202f% par rapport aux 12 mois précédents, dernière activité il y a 97 jours."},
		{"French, no previous revenue", localized(bare, "fr"), "*Acme Industries*\u00a0: chiffre d'affaires de 12\u202f346\u202f€ sur les 12 derniers mois, dernière activité il y a 97 jours."},
		{"English, one day", func() notify.Data { d := upsellData("en"); d.DaysInactive = 1; return d }(), "*Acme Industries*: revenue +38% vs the previous 12 months, last activity 1 day ago."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fallback, _ := render(t, tt.data, "")
			if !strings.HasSuffix(fallback, " — "+tt.want) {
				t.Errorf("fallback = %q, want it to end with %q", fallback, tt.want)
			}
		})
	}
}

// block decodes blocks and returns the first of type typ, or nil.
func block(t *testing.T, blocks json.RawMessage, typ string) map[string]any {
	t.Helper()
	var list []map[string]any
	if err := json.Unmarshal(blocks, &list); err != nil {
		t.Fatal(err)
	}
	for _, b := range list {
		if b["type"] == typ {
			return b
		}
	}
	return nil
}

func TestRenderLimits(t *testing.T) {
	d := normalData()
	d.Account.Name, d.Title = strings.Repeat("Long & Co ", 40), ""
	_, blocks := render(t, d, Escape(strings.Repeat("&", 4000)))

	h := block(t, blocks, "header")["text"].(map[string]any)["text"].(string)
	if n := utf8.RuneCountInString(h); n > maxHeader || !strings.HasSuffix(h, "…") {
		t.Errorf("header has %d characters, want at most %d ending in …", n, maxHeader)
	}
	s := block(t, blocks, "section")["text"].(map[string]any)["text"].(string)
	if n := utf8.RuneCountInString(s); n > maxText || !strings.HasSuffix(s, "&amp;…") {
		t.Errorf("section has %d characters ending in %q, want at most %d ending in a whole entity and …", n, s[len(s)-10:], maxText)
	}
	fallback, _ := render(t, d, strings.Repeat("x", 4000))
	if n := utf8.RuneCountInString(fallback); n > maxText {
		t.Errorf("fallback has %d characters, want at most %d", n, maxText)
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijk", 10, "abcdefghi…"},
		{"abcdef&amp;xyz", 10, "abcdef…"},
		{"abcd&amp;xyz", 10, "abcd&amp;…"},
		{"ééééééééééé", 5, "éééé…"},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.max); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestCRMButton(t *testing.T) {
	tests := []struct {
		name string
		url  string
		want bool
	}{
		{"https", "https://crm.example/a/1", true},
		{"http", "http://crm.example/a/1", true},
		{"empty", "", false},
		{"relative", "/a/1", false},
		{"javascript", "javascript:alert(1)", false},
		{"no host", "https:///a/1", false},
		{"longest allowed", "https://crm.example/" + strings.Repeat("a", maxURL-len("https://crm.example/")), true},
		{"too long", "https://crm.example/" + strings.Repeat("a", maxURL), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := normalData()
			d.Account.URL = tt.url
			_, blocks := render(t, d, "")
			if got := strings.Contains(string(blocks), `"action_id":"open_crm"`); got != tt.want {
				t.Fatalf("CRM link present = %v, want %v", got, tt.want)
			}
			if tt.want && !strings.Contains(string(blocks), `"url":"`+tt.url+`"`) {
				t.Errorf("button url is not %q", tt.url)
			}
		})
	}
}

func TestFigures(t *testing.T) {
	tests := []struct {
		name string
		data notify.Data
		want []string
	}{
		{"full", normalData(), []string{"*Revenue 12m*\n12,346", "*Trend*\n-59% vs previous 12m", "*ABC class*\nA", "*Days inactive*\n97", "*Last purchase*\n130 days ago", "*Owner*\nSam Rep"}},
		{"in euros", localized(normalData(), "en"), []string{"*Revenue 12m*\n€12,346", "*Trend*\n-59% vs previous 12m", "*ABC class*\nA", "*Days inactive*\n97", "*Last purchase*\n130 days ago", "*Owner*\nSam Rep"}},
		{"French", localized(normalData(), "fr"), []string{"*CA 12 mois*\n12\u202f346\u202f€", "*Tendance*\n-59\u202f% par rapport aux 12 mois précédents", "*Classe ABC*\nA", "*Jours sans activité*\n97", "*Dernier achat*\nil y a 130 jours", "*Responsable*\nSam Rep"}},
		{"bare", bareData(), []string{"*Revenue 12m*\n12,346", "*Trend*\nn/a (no revenue in the previous 12m)", "*ABC class*\nA", "*Days inactive*\n97", "*Last purchase*\nnever"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, blocks := render(t, tt.data, "")
			var list []struct {
				Fields []struct{ Text string } `json:"fields"`
			}
			if err := json.Unmarshal(blocks, &list); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, b := range list {
				for _, f := range b.Fields {
					got = append(got, f.Text)
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("fields = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestContactBlock(t *testing.T) {
	_, blocks := render(t, normalData(), "")
	if !strings.Contains(string(blocks), "*Contact to call:* Jane Doe, Head of Purchasing\\n<mailto:jane@acme.example|jane@acme.example>\\n+33 1 23 45 67 89") {
		t.Errorf("contact section missing or wrong:\n%s", blocks)
	}
	_, blocks = render(t, bareData(), "")
	if strings.Contains(string(blocks), "Contact to call") {
		t.Error("contact section rendered without a contact")
	}
}

func TestRenderResolved(t *testing.T) {
	d := hostileData()
	fallback, blocks, err := RenderResolved(d, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fallback, "&lt;!channel&gt; Corp* is no longer flagged") || strings.Contains(string(blocks), "<!channel>") {
		t.Fatalf("default note not escaped: %q / %s", fallback, blocks)
	}
	fallback, _, err = RenderResolved(d, Escape("<!channel> Corp")+" re-engaged :tada:")
	if err != nil || fallback != "&lt;!channel&gt; Corp re-engaged :tada:" {
		t.Fatalf("custom note = %q, %v", fallback, err)
	}
}

func TestNudgeButtons(t *testing.T) {
	d := normalData()
	_, blocks := render(t, d, "")
	var list []struct {
		Type     string `json:"type"`
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(blocks, &list); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, b := range list {
		for _, e := range b.Elements {
			if b.Type == "actions" {
				got[e.ActionID] = e.Value
			}
		}
	}
	for _, id := range []string{ActionSnooze, ActionContacted} {
		acct, rule, err := ParseButtonValue(got[id])
		if err != nil || acct != d.Account.ID || rule != d.Rule {
			t.Errorf("button %s value %q → %q %q %v; want the account and rule", id, got[id], acct, rule, err)
		}
	}
	if _, _, err := ParseButtonValue(`{"account":"x"}`); err == nil {
		t.Error("a value without its rule parsed")
	}
}
