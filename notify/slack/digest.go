package slack

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/locale"
)

// Digest is one recipient's list of flagged accounts for a pass: a rep's
// own (in a DM) or a channel's. It may mix rules.
type Digest struct {
	To      string // a rep's email or a channel, as in notify.Message.To
	Channel bool   // posted in a channel: worded for everyone, owners mentioned (see AudienceOf)
	Locale  string // language of the fixed texts and figures: "en", "fr"
	Entries []DigestEntry
}

// DigestEntry is one flagged account of a digest, with the figures that
// matter to decide whom to call first. NewDigestEntry builds one.
type DigestEntry struct {
	AccountID    string  `json:"account_id"`
	AccountName  string  `json:"account_name"`
	URL          string  `json:"url,omitempty"` // the record in the CRM
	Rule         string  `json:"rule,omitempty"`
	Severity     string  `json:"severity,omitempty"`
	Title        string  `json:"title,omitempty"` // the rule's headline, plain text
	Line         string  `json:"line,omitempty"`  // the rule's own text, ready mrkdwn; "": none
	Revenue12m   float64 `json:"revenue_12m,omitempty"`
	Currency     string  `json:"currency,omitempty"` // ISO 4217 code of Revenue12m
	ABC          string  `json:"abc,omitempty"`
	DaysInactive int     `json:"days_inactive,omitempty"`
	OwnerEmail   string  `json:"owner_email,omitempty"`
	OwnerName    string  `json:"owner_name,omitempty"`
	// Locale is the language the entry was planned in (notify.Data's),
	// for the digest it goes into.
	Locale string `json:"locale,omitempty"`
}

// NewDigestEntry is the digest entry of the nudge about d. text is the
// rule's custom line, ready mrkdwn as for Render, or "".
func NewDigestEntry(d notify.Data, text string) DigestEntry {
	e := DigestEntry{
		AccountID: d.Account.ID, AccountName: d.Account.Name, URL: d.Account.URL,
		Rule: d.Rule, Severity: d.Severity, Title: oneLine(d.Title), Line: strings.TrimSpace(text),
		Revenue12m: d.Revenue12m, Currency: d.Currency, ABC: d.ABC, DaysInactive: d.DaysInactive,
		Locale: d.Locale,
	}
	if d.Owner != nil {
		e.OwnerEmail, e.OwnerName = d.Owner.Email, d.Owner.Name
	}
	return e
}

// DigestEntriesPerMessage caps the accounts of one digest message: one
// block each plus a header and a footer stay below Slack's 50 blocks, and
// a message stays short enough to read (15 accounts).
const DigestEntriesPerMessage = 15

// Rendered is one message ready to post.
type Rendered struct {
	Fallback string
	Blocks   json.RawMessage
}

// CompareEntries orders a digest: by revenue at risk (Revenue12m, highest
// first), then account name, then id, then rule.
func CompareEntries(a, b DigestEntry) int {
	return cmp.Or(
		cmp.Compare(b.Revenue12m, a.Revenue12m),
		cmp.Compare(strings.ToLower(a.AccountName), strings.ToLower(b.AccountName)),
		cmp.Compare(a.AccountID, b.AccountID),
		cmp.Compare(a.Rule, b.Rule),
	)
}

// RenderDigest builds the messages of dg: a header counting every entry,
// worded for a rep ("8 of your clients need attention") or a channel ("8
// clients need attention"), then each account, by revenue at risk, with
// its class, revenue, days inactive and rule title, its owner mentioned
// in a channel, and one menu of actions; then a footer. It splits the
// entries into messages of at most DigestEntriesPerMessage accounts. An
// empty digest renders no message.
func RenderDigest(dg Digest) ([]Rendered, error) {
	entries := slices.Clone(dg.Entries)
	slices.SortStableFunc(entries, CompareEntries)
	l := locale.For(dg.Locale)
	title := emoji(mostSevere(entries)) + " " + l.T().DigestCount(len(entries), dg.Channel)
	var out []Rendered
	for start := 0; start < len(entries); start += DigestEntriesPerMessage {
		part := entries[start:min(start+DigestEntriesPerMessage, len(entries))]
		head := title
		if len(part) < len(entries) {
			head += " " + fmt.Sprintf(l.T().DigestPart, start+1, start+len(part))
		}
		r, err := renderDigestPart(dg, l, head, part)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func renderDigestPart(dg Digest, l locale.Locale, head string, part []DigestEntry) (Rendered, error) {
	list := newBlockList(512 + 1024*len(part))
	list.header(head)
	for _, e := range part {
		list.begin("section")
		list.raw(`,"text":`)
		link := crmURL(e.URL)
		list.mrkdwn(digestText(e, l, dg.Channel, link), maxText)
		menu(list, e, l, link)
		list.end()
	}
	list.context(l.T().DigestFooter)
	return Rendered{Fallback: truncate(head, maxText), Blocks: list.json()}, nil
}

// Lengths, in characters, an entry's CRM-supplied parts are cut to so
// that its text stays whole under Slack's limit.
const (
	maxEntryName  = 200
	maxEntryTitle = 300
	maxEntryLine  = 2000
)

// digestText is an account's text in a digest:
//
//	*<url|Acme>* · class A · €12,346 · 97 days inactive · owner: @Sam
//	:wave: Upsell: Acme
//	the rule's own line, if any
func digestText(e DigestEntry, l locale.Locale, channel, link bool) string {
	t := l.T()
	name := truncate(escapeName(e.AccountName), maxEntryName)
	if link {
		name = "<" + escapeControl(e.URL) + "|" + name + ">"
	}
	facts := []string{"*" + name + "*"}
	if abc := escapeName(e.ABC); abc != "" {
		facts = append(facts, fmt.Sprintf(t.DigestClass, abc))
	}
	facts = append(facts, l.Money(e.Revenue12m, e.Currency), fmt.Sprintf(t.DigestInactive, l.Days(e.DaysInactive)))
	if channel && (strings.TrimSpace(e.OwnerEmail) != "" || strings.TrimSpace(e.OwnerName) != "") {
		facts = append(facts, fmt.Sprintf(t.DigestOwner, mention(e.OwnerEmail, e.OwnerName)))
	}
	title := oneLine(e.Title)
	if title == "" {
		title = e.Rule
	}
	lines := []string{strings.Join(facts, " · "), emoji(e.Severity) + " " + truncate(escapeName(title), maxEntryTitle)}
	if e.Line != "" {
		lines = append(lines, truncate(e.Line, maxEntryLine))
	}
	return strings.Join(lines, "\n")
}

// mostSevere is the most urgent severity of entries.
func mostSevere(entries []DigestEntry) string {
	best := "info"
	for _, e := range entries {
		if SeverityRank(e.Severity) < SeverityRank(best) {
			best = e.Severity
		}
	}
	return best
}
