package slack

import (
	"fmt"
	"net/mail"
	"net/url"
	"strings"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/locale"
)

// whyLine is the rule's custom line, or the default line built from the
// figures of d.
func whyLine(d notify.Data, l locale.Locale, text string) string {
	if strings.TrimSpace(text) != "" {
		return strings.TrimSpace(text) // ready mrkdwn: see Render
	}
	return defaultLine(d, l)
}

// defaultLine states the figures without guessing why the rule fired:
// "*Acme*: revenue -60% vs the previous 12 months, last activity 95 days
// ago." The rule's title says why.
func defaultLine(d notify.Data, l locale.Locale) string {
	t := l.T()
	var parts []string
	switch {
	case d.RevenuePrev12m > 0:
		parts = append(parts, fmt.Sprintf(t.LineTrend, l.Percent(d.RevenueTrend)))
	case d.Revenue12m > 0:
		parts = append(parts, fmt.Sprintf(t.LineRevenue, l.Money(d.Revenue12m, d.Currency)))
	}
	if d.DaysInactive > 0 {
		parts = append(parts, fmt.Sprintf(t.LineActivity, l.Days(d.DaysInactive)))
	} else {
		parts = append(parts, t.LineActiveToday)
	}
	return "*" + escapeName(d.Account.Name) + "*" + t.Colon + strings.Join(parts, ", ") + "."
}

// why is the text of the "why" section: the line, then the rule's
// description (written by sales ops: its formatting is kept) unless the
// headline already shows it.
func why(d notify.Data, line string) string {
	desc := strings.TrimSpace(d.Description)
	if desc == "" || oneLine(desc) == oneLine(d.Title) {
		return line
	}
	return line + "\n" + escapeControl(desc)
}

// figures appends the section of the account's numbers. A channel copy
// names the owner with a mention.
func figures(list *blockList, d notify.Data, l locale.Locale, aud Audience) {
	t := l.T()
	fields := []string{
		field(t.LabelRevenue, l.Money(d.Revenue12m, d.Currency)),
		field(t.LabelTrend, trend(d, l)),
		field(t.LabelABC, escapeName(d.ABC)),
		field(t.LabelInactive, l.Number(float64(d.DaysInactive))),
		field(t.LabelPurchase, lastPurchase(d.DaysSincePurchase, l)),
	}
	if o := d.Owner; o != nil {
		switch {
		case aud == ToChannel && (strings.TrimSpace(o.Email) != "" || strings.TrimSpace(o.Name) != ""):
			fields = append(fields, field(t.LabelOwner, mention(o.Email, o.Name)))
		case strings.TrimSpace(o.Name) != "":
			fields = append(fields, field(t.LabelOwner, escapeName(o.Name)))
		}
	}
	list.begin("section")
	list.raw(`,"fields":[`)
	for i, f := range fields[:min(len(fields), maxFields)] {
		if i > 0 {
			list.raw(",")
		}
		list.mrkdwn(f, maxField)
	}
	list.raw("]")
	list.end()
}

// field is a section field: a bold label over a value.
func field(label, value string) string {
	return "*" + label + "*\n" + value
}

// trend is the revenue change against the previous 12 months.
func trend(d notify.Data, l locale.Locale) string {
	if d.RevenuePrev12m <= 0 {
		return l.T().TrendNone
	}
	return fmt.Sprintf(l.T().TrendVs, l.Percent(d.RevenueTrend))
}

// lastPurchase says how long ago the last won deal closed.
func lastPurchase(days *int, l locale.Locale) string {
	if days == nil {
		return l.T().Never
	}
	return fmt.Sprintf(l.T().Ago, l.Days(*days))
}

// contactText is the text of the section naming the contact to call, or
// "" when there is none.
func contactText(d notify.Data, l locale.Locale) string {
	c := d.Contact
	if c == nil {
		return ""
	}
	who := escapeName(c.Name())
	if t := strings.TrimSpace(c.Title); t != "" {
		who += ", " + escapeName(t)
	}
	parts := []string{"*" + l.T().ContactToCall + "* " + who}
	if c.Email != "" {
		parts = append(parts, emailLink(c.Email))
	}
	if p := strings.TrimSpace(c.Phone); p != "" {
		parts = append(parts, escapeName(p))
	}
	return strings.Join(parts, "\n")
}

// emailLink is a mailto link to addr when addr is a plain address, else the
// escaped text: a crafted address cannot close the link or add a label.
func emailLink(addr string) string {
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr || strings.ContainsAny(addr, "<>|& \t\r\n") {
		return escapeName(addr)
	}
	return "<mailto:" + addr + "|" + Escape(addr) + ">"
}

// footer appends the context block with the rule and its severity.
func footer(list *blockList, d notify.Data, l locale.Locale) {
	s := fmt.Sprintf(l.T().FooterRule, escapeName(d.Rule))
	if d.Severity != "" {
		s += " · " + fmt.Sprintf(l.T().FooterSeverity, escapeName(d.Severity))
	}
	list.context(s)
}

// crmButton appends an actions block of the "View in CRM" link button,
// unless the account has no usable URL (see crmURL).
func crmButton(list *blockList, d notify.Data, l locale.Locale) {
	if b, ok := crmLink(d, l); ok {
		list.actions(b)
	}
}

// crmLink is the "View in CRM" link button; false when the account has
// no usable URL (see crmURL).
func crmLink(d notify.Data, l locale.Locale) (button, bool) {
	if !crmURL(d.Account.URL) {
		return button{}, false
	}
	value := d.Account.ID
	if len(value) > maxValue {
		value = ""
	}
	return button{actionID: ActionOpenCRM, text: l.T().ViewInCRM, url: d.Account.URL, value: value}, true
}

// crmURL reports whether raw is an absolute http(s) URL Slack accepts in a
// button or a link: not longer than it allows (a cut URL would open the
// wrong page) and without the characters that end a mrkdwn link.
func crmURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		len(raw) <= maxURL && !strings.ContainsAny(raw, "<>| \t\r\n")
}
