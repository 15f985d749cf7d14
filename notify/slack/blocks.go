package slack

import (
	"net/mail"
	"net/url"
	"strconv"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/templates"
)

// whyLine is the rule's custom line, escaped, or the default line for the
// severity of d.
func whyLine(d notify.Data, text string) string {
	if strings.TrimSpace(text) != "" {
		return strings.TrimSpace(text) // ready mrkdwn: see Render
	}
	name := "*" + escapeName(d.Account.Name) + "*"
	quiet := "quiet for " + plural(d.DaysInactive, "day")
	if strings.EqualFold(d.Severity, "critical") && d.RevenuePrev12m > 0 && d.RevenueTrend < 1 {
		return name + " is slipping away: revenue " + templates.Percent(d.RevenueTrend) +
			" vs the previous 12 months, " + quiet + "."
	}
	if strings.EqualFold(d.Severity, "critical") {
		return name + " is slipping away: " + quiet + "."
	}
	return name + " has been " + quiet + "."
}

// why is the text of the "why" section: the line, then the rule's
// description (written by sales ops: its formatting is kept).
func why(d notify.Data, line string) string {
	if d.Description == "" {
		return line
	}
	return line + "\n" + escapeControl(d.Description)
}

// figures is the section of the account's numbers.
func figures(d notify.Data) slackapi.Block {
	fields := []string{
		field("Revenue 12m", templates.Money(d.Revenue12m)),
		field("Trend", trend(d)),
		field("ABC class", escapeName(d.ABC)),
		field("Days inactive", strconv.Itoa(d.DaysInactive)),
		field("Last purchase", lastPurchase(d.DaysSincePurchase)),
	}
	if d.Owner != nil && strings.TrimSpace(d.Owner.Name) != "" {
		fields = append(fields, field("Owner", escapeName(d.Owner.Name)))
	}
	fields = fields[:min(len(fields), maxFields)]
	objs := make([]*slackapi.TextBlockObject, len(fields))
	for i, f := range fields {
		objs[i] = mrkdwn(f, maxField)
	}
	return slackapi.NewSectionBlock(nil, objs, nil)
}

// field is a section field: a bold label over a value.
func field(label, value string) string {
	return "*" + label + "*\n" + value
}

// trend is the revenue change against the previous 12 months.
func trend(d notify.Data) string {
	if d.RevenuePrev12m <= 0 {
		return "n/a (no revenue in the previous 12m)"
	}
	return templates.Percent(d.RevenueTrend) + " vs previous 12m"
}

// lastPurchase says how long ago the last won deal closed.
func lastPurchase(days *int) string {
	if days == nil {
		return "never"
	}
	return plural(*days, "day") + " ago"
}

// plural returns "1 day", "2 days".
func plural(n int, unit string) string {
	if n == 1 || n == -1 {
		return strconv.Itoa(n) + " " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// contactBlock is the section naming the contact to call, or nil.
func contactBlock(d notify.Data) slackapi.Block {
	c := d.Contact
	if c == nil {
		return nil
	}
	who := escapeName(c.Name())
	if t := strings.TrimSpace(c.Title); t != "" {
		who += ", " + escapeName(t)
	}
	parts := []string{"*Contact to call:* " + who}
	if c.Email != "" {
		parts = append(parts, emailLink(c.Email))
	}
	if p := strings.TrimSpace(c.Phone); p != "" {
		parts = append(parts, escapeName(p))
	}
	return section(strings.Join(parts, "\n"))
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

// footer is the context block with the rule and its severity.
func footer(d notify.Data) slackapi.Block {
	s := "Rule: " + escapeName(d.Rule)
	if d.Severity != "" {
		s += " · Severity: " + escapeName(d.Severity)
	}
	return slackapi.NewContextBlock("", mrkdwn(s, maxText))
}

// crmButton is a "View in CRM" link button, or nil when the account has no
// absolute http(s) URL or one longer than Slack accepts: a cut URL would
// open the wrong page.
func crmButton(d notify.Data) slackapi.Block {
	if b := crmLink(d); b != nil {
		return slackapi.NewActionBlock("", b)
	}
	return nil
}

// crmLink is the "View in CRM" link button element, or nil (see crmButton).
func crmLink(d notify.Data) *slackapi.ButtonBlockElement {
	u, err := url.Parse(d.Account.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(d.Account.URL) > maxURL {
		return nil
	}
	value := d.Account.ID
	if len(value) > maxValue {
		value = ""
	}
	return slackapi.NewButtonBlockElement(ActionOpenCRM, value, plain("View in CRM")).WithURL(d.Account.URL)
}
