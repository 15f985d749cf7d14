package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/crmsync/crmsync/internal/golden"
)

// digestEntries returns n accounts over two rules and three owners, with
// revenues that do not follow the names, the hostile one among them.
func digestEntries(n int) []DigestEntry {
	owners := []struct{ email, name string }{{"sam@example.com", "Sam Rep"}, {"ann@example.com", "Ann Rep"}, {"", "Bob *bold* & co"}}
	var out []DigestEntry
	for i := range n {
		o := owners[i%len(owners)]
		e := DigestEntry{
			AccountID: fmt.Sprintf("hubspot:%d", i), AccountName: fmt.Sprintf("Acme %02d", i),
			URL: fmt.Sprintf("https://app.hubspot.com/contacts/1/company/%d?a=1&b=2", i), Rule: "inactive-90-days", Severity: "info",
			Title: fmt.Sprintf("No activity for 90 days: Acme %02d", i), Revenue12m: float64((i*7919)%40) * 1000.4,
			Currency: "EUR", ABC: string("ABC"[i%3]), DaysInactive: 90 + i, OwnerEmail: o.email, OwnerName: o.name,
		}
		if i%4 == 1 {
			e.Rule, e.Severity, e.Title = "high-value-churning", "critical", fmt.Sprintf("Key account slipping: Acme %02d", i)
			e.Line = Escape("Acme <b>") + " *call them this week*"
		}
		out = append(out, e)
	}
	if n > 8 {
		out[7].AccountName, out[7].Title = "<!channel> <script>alert(1)</script> *Corp*", "Quiet: <!channel> <script>"
		out[8].URL = "javascript:alert(1)"
	}
	return out
}

// digestBlocks decodes the blocks of r.
func digestBlocks(t *testing.T, r Rendered) []map[string]any {
	t.Helper()
	var blocks []map[string]any
	if err := json.Unmarshal(r.Blocks, &blocks); err != nil {
		t.Fatalf("blocks are not JSON: %v", err)
	}
	return blocks
}

func TestRenderDigestGolden(t *testing.T) {
	tests := []struct {
		name    string
		locale  string
		channel bool
	}{
		{"digest-dm.en", "en", false},
		{"digest-channel.en", "en", true},
		{"digest-dm.fr", "fr", false},
		{"digest-channel.fr", "fr", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts, err := RenderDigest(Digest{To: "sam@example.com", Channel: tt.channel, Locale: tt.locale, Entries: digestEntries(40)})
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for i, p := range parts {
				var ind bytes.Buffer
				if err := json.Indent(&ind, p.Blocks, "", "  "); err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&b, "message %d\nfallback: %s\n\n%s\n\n", i+1, p.Fallback, ind.String())
			}
			golden.Assert(t, tt.name, b.String())
		})
	}
}

func TestRenderDigestSplitsUnderSlackLimits(t *testing.T) {
	for _, channel := range []bool{false, true} {
		entries := digestEntries(40)
		parts, err := RenderDigest(Digest{Channel: channel, Locale: "en", Entries: entries})
		if err != nil {
			t.Fatal(err)
		}
		if len(parts) != 3 {
			t.Fatalf("%d messages for 40 accounts, want 3 of at most %d", len(parts), DigestEntriesPerMessage)
		}
		menus := 0
		for i, p := range parts {
			blocks := digestBlocks(t, p)
			if len(blocks) > maxBlocks {
				t.Errorf("message %d has %d blocks, Slack allows %d", i, len(blocks), maxBlocks)
			}
			want := "40 of your clients need attention"
			if channel {
				want = "40 clients need attention"
			}
			if !strings.Contains(p.Fallback, want) || !strings.Contains(p.Fallback, fmt.Sprintf("(%d–%d)", i*15+1, min(i*15+15, 40))) {
				t.Errorf("message %d fallback %q, want the total %q and its range", i, p.Fallback, want)
			}
			for _, b := range blocks[1 : len(blocks)-1] {
				text := b["text"].(map[string]any)["text"].(string)
				if n := utf8.RuneCountInString(text); n > maxText {
					t.Errorf("an entry has %d characters", n)
				}
				if strings.Contains(text, "@crmsync:") != channel {
					t.Errorf("owner mention present = %v in %q, want %v", !channel, text, channel)
				}
				acc, _ := b["accessory"].(map[string]any)
				if acc["type"] == "overflow" {
					menus++
				}
				if strings.Count(string(p.Blocks), `"type":"button"`) != 0 {
					t.Errorf("message %d has buttons besides the menus", i)
				}
			}
		}
		if menus != 40 {
			t.Errorf("%d overflow menus, want one per account (40)", menus)
		}
	}
}

func TestRenderDigestOrder(t *testing.T) {
	entries := []DigestEntry{
		{AccountID: "c", AccountName: "Zeta", Revenue12m: 100, Rule: "r"},
		{AccountID: "b", AccountName: "Beta", Revenue12m: 5000, Rule: "r"},
		{AccountID: "a2", AccountName: "Alpha", Revenue12m: 100, Rule: "r"},
		{AccountID: "a1", AccountName: "Alpha", Revenue12m: 100, Rule: "r"},
	}
	parts, err := RenderDigest(Digest{Entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range digestBlocks(t, parts[0]) {
		if b["type"] != "section" {
			continue
		}
		opts := b["accessory"].(map[string]any)["options"].([]any)
		acct, _, err := ParseButtonValue(opts[0].(map[string]any)["value"].(string))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, acct)
	}
	if strings.Join(got, ",") != "b,a1,a2,c" {
		t.Errorf("order = %v, want by revenue, then name, then id: b,a1,a2,c", got)
	}
}

func TestDigestMenu(t *testing.T) {
	e := digestEntries(1)[0]
	parts, err := RenderDigest(Digest{Locale: "fr", Entries: []DigestEntry{e}})
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 1 || !strings.Contains(parts[0].Fallback, "1 de vos clients est à suivre") {
		t.Fatalf("one-entry digest = %+v", parts)
	}
	acc := digestBlocks(t, parts[0])[1]["accessory"].(map[string]any)
	if acc["type"] != "overflow" || acc["action_id"] != ActionMenu {
		t.Fatalf("accessory = %v, want the overflow menu", acc)
	}
	opts := acc["options"].([]any)
	wantIDs := []string{ActionSnooze, ActionContacted, ActionOpenCRM}
	if len(opts) != len(wantIDs) {
		t.Fatalf("%d options, want %d", len(opts), len(wantIDs))
	}
	for i, o := range opts {
		o := o.(map[string]any)
		id, value := Chosen(ActionMenu, "", o["value"].(string))
		acct, rule, err := ParseButtonValue(value)
		if id != wantIDs[i] || err != nil || acct != e.AccountID || rule != e.Rule {
			t.Errorf("option %d %v: Chosen = %q, %q → %q %q %v", i, o, id, value, acct, rule, err)
		}
		if len(o["value"].(string)) > maxOptionValue {
			t.Errorf("option %d value has %d characters, Slack allows %d", i, len(o["value"].(string)), maxOptionValue)
		}
	}
	if opts[2].(map[string]any)["url"] != e.URL {
		t.Errorf("View in CRM option url = %v, want %q", opts[2], e.URL)
	}

	long := e
	long.Rule = strings.Repeat("r", 200)
	acc = menuOf(t, long)
	if acc["type"] != "button" || acc["url"] != e.URL {
		t.Errorf("ids too long for an option: accessory = %v, want the CRM link button", acc)
	}
	long.URL = ""
	if acc := menuOf(t, long); acc != nil {
		t.Errorf("neither actions nor link: accessory = %v, want none", acc)
	}
	noURL := e
	noURL.URL = "javascript:alert(1)"
	if acc := menuOf(t, noURL); acc["type"] != "overflow" || len(acc["options"].([]any)) != 2 {
		t.Errorf("unusable URL: accessory = %v, want a menu of two options", acc)
	}
}

// menuOf returns the accessory of the only entry of a digest of e.
func menuOf(t *testing.T, e DigestEntry) map[string]any {
	t.Helper()
	parts, err := RenderDigest(Digest{Entries: []DigestEntry{e}})
	if err != nil {
		t.Fatal(err)
	}
	acc, _ := digestBlocks(t, parts[0])[1]["accessory"].(map[string]any)
	return acc
}

func TestChosen(t *testing.T) {
	v := ButtonValue("a", "r")
	if id, value := Chosen(ActionSnooze, v, ""); id != ActionSnooze || value != v {
		t.Errorf("button: Chosen = %q, %q", id, value)
	}
	if id, _ := Chosen(ActionMenu, "", "not json"); id != "" {
		t.Errorf("unreadable option: Chosen id = %q, want none", id)
	}
}

func TestRenderDigestHostile(t *testing.T) {
	parts, err := RenderDigest(Digest{Channel: true, Locale: "en", Entries: digestEntries(40)})
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, p := range parts {
		all = append(all, texts(t, p.Blocks)...)
		all = append(all, p.Fallback)
	}
	joined := strings.Join(all, "\n")
	for _, raw := range []string{"<!channel>", "<script>", "*Corp*", "<b>", "javascript:"} {
		if strings.Contains(joined, raw) {
			t.Errorf("digest contains raw %q", raw)
		}
	}
	for _, esc := range []string{"&lt;!channel&gt; &lt;script&gt;alert(1)&lt;/script&gt;", "Quiet: &lt;!channel&gt; &lt;script&gt;"} {
		if !strings.Contains(joined, esc) {
			t.Errorf("digest lacks escaped %q", esc)
		}
	}
}

func TestRenderDigestEmpty(t *testing.T) {
	if parts, err := RenderDigest(Digest{}); err != nil || len(parts) != 0 {
		t.Errorf("empty digest = %d messages, %v", len(parts), err)
	}
}
