package workers

import (
	"context"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/email"
	"github.com/crmsync/crmsync/notify/slack"
	"github.com/crmsync/crmsync/rules"
)

// Reasons a message is held back, as counted in reports and metrics.
const (
	SkipOptedOut   = "opted_out"
	SkipSuppressed = "suppressed"
	SkipNoContact  = "no_contact"
	SkipNoOwner    = "no_owner"
	SkipCooldown   = "cooldown"
	SkipInhibited  = "inhibited" // a more urgent rule's message replaces it
)

// suppressions is what the planner needs to keep the unwilling out.
type suppressions interface {
	Suppressed(ctx context.Context, email string) (reason string, ok bool, err error)
}

// Address is an email sender.
type Address struct{ Email, Name string }

// Planner turns a rule match into rendered messages, applying the safety
// rails that can be decided before anything is enqueued.
type Planner struct {
	Email           *email.Renderer
	From            Address
	ReplyToOwner    bool
	FallbackChannel string // Slack channel for accounts whose owner is unknown
	Suppressions    suppressions
}

// planned is the outcome of planning one match.
type planned struct {
	msgs  []notify.Message
	skips []string
}

// Plan renders the messages of match m for client c in pass.
func (p *Planner) Plan(ctx context.Context, pass string, now time.Time, c *model.Client, f rules.Features, m rules.Match) (planned, error) {
	var out planned
	base := p.data(now, c, f, m.Rule)
	for _, a := range m.Actions {
		var err error
		switch {
		case a.Email != nil:
			err = p.planEmail(ctx, &out, pass, base, c, m.Rule, a.Email)
		case a.Slack != nil:
			err = p.planSlack(&out, pass, base, c, m.Rule, a.Slack)
		}
		if err != nil {
			return out, fmt.Errorf("rule %s, account %s: %w", m.Rule.Name, c.Account.ID, err)
		}
	}
	for i := range out.msgs {
		out.msgs[i].Pass = pass
		out.msgs[i].Rule = m.Rule.Name
		out.msgs[i].AccountID = c.Account.ID
		out.msgs[i].Expression = m.Rule.When
		out.msgs[i].Features = f.Map()
		out.msgs[i].CreatedAt = now
	}
	return out, nil
}

func (p *Planner) data(now time.Time, c *model.Client, f rules.Features, r *rules.Rule) notify.Data {
	return notify.Data{
		Rule: r.Name, Description: r.Description, Severity: r.Severity,
		Account: c.Account, Owner: c.Owner,
		Revenue12m: f.Revenue12m, RevenuePrev12m: f.RevenuePrev12m, RevenueTrend: f.RevenueTrend,
		DaysInactive: f.DaysInactive, DaysSincePurchase: f.DaysSincePurchase, ABC: f.ABC,
		Now: now,
	}
}

func (p *Planner) planEmail(ctx context.Context, out *planned, pass string, d notify.Data, c *model.Client, r *rules.Rule, a *rules.EmailAction) error {
	recipients, skips := emailRecipients(c, a.To)
	out.skips = append(out.skips, skips...)
	seen := map[string]bool{}
	for _, ct := range recipients {
		addr := strings.ToLower(ct.Email)
		if seen[addr] {
			continue
		}
		seen[addr] = true
		if _, ok, err := p.Suppressions.Suppressed(ctx, addr); err != nil {
			return err
		} else if ok {
			out.skips = append(out.skips, SkipSuppressed)
			continue
		}
		d.Contact = &ct
		subject, text, html, err := p.Email.Render(a.Template, d)
		if err != nil {
			return err
		}
		m := notify.Message{
			LedgerKey: LedgerKey(r.Name, c.Account.ID, notify.Email, addr, pass),
			Channel:   notify.Email, To: ct.Email, ToName: ct.Name(),
			From: p.From.Email, Subject: subject, Text: text, HTML: html,
		}
		if p.ReplyToOwner && c.Owner != nil && validEmail(c.Owner.Email) {
			m.ReplyTo = c.Owner.Email
		}
		out.msgs = append(out.msgs, m)
	}
	return nil
}

func (p *Planner) planSlack(out *planned, pass string, d notify.Data, c *model.Client, r *rules.Rule, a *rules.SlackAction) error {
	d.Contact = contactToCall(c)
	text, err := a.Render(d)
	if err != nil {
		return err
	}
	fallback, blocks, err := slack.Render(d, text)
	if err != nil {
		return err
	}
	var targets []string
	if a.To == "owner" {
		switch {
		case c.Owner != nil && validEmail(c.Owner.Email):
			targets = append(targets, c.Owner.Email)
		case p.FallbackChannel != "":
			targets = append(targets, p.FallbackChannel)
		default:
			out.skips = append(out.skips, SkipNoOwner)
		}
	}
	if a.Channel != "" && !slices.Contains(targets, a.Channel) {
		targets = append(targets, a.Channel)
	}
	for _, to := range targets {
		m := notify.Message{
			LedgerKey: LedgerKey(r.Name, c.Account.ID, notify.Slack, strings.ToLower(to), pass),
			Channel:   notify.Slack, To: to, Text: fallback, Blocks: blocks,
		}
		if c.Owner != nil && to == c.Owner.Email {
			m.ToName = c.Owner.Name
		}
		out.msgs = append(out.msgs, m)
	}
	return nil
}

// LedgerKey identifies one message in the ledger: a rule, an account, a
// channel, a recipient and the cooldown period, named by the pass that
// opened it. Whatever retries or re-runs happen, one key is sent once.
func LedgerKey(rule, accountID string, ch notify.Channel, recipient, pass string) string {
	return strings.Join([]string{rule, accountID, string(ch), recipient, pass}, "|")
}

// emailRecipients picks the contacts an email action goes to, and why
// others were left out.
func emailRecipients(c *model.Client, to string) ([]model.Contact, []string) {
	if to == "all_contacts" {
		var out []model.Contact
		var skips []string
		for _, ct := range c.Contacts {
			switch {
			case ct.OptOut:
				skips = append(skips, SkipOptedOut)
			case validEmail(ct.Email):
				out = append(out, ct)
			}
		}
		if len(out) == 0 && len(skips) == 0 {
			skips = append(skips, SkipNoContact)
		}
		return out, skips
	}
	if ct := markedPrimary(c); ct != nil {
		switch {
		case ct.OptOut:
			return nil, []string{SkipOptedOut}
		case !validEmail(ct.Email):
			return nil, []string{SkipNoContact}
		}
		return []model.Contact{*ct}, nil
	}
	if ct := latestReachable(c); ct != nil {
		return []model.Contact{*ct}, nil
	}
	return nil, []string{SkipNoContact}
}

// markedPrimary returns the contact the CRM marks as the account's primary
// contact, or nil.
func markedPrimary(c *model.Client) *model.Contact {
	for i, ct := range c.Contacts {
		if ct.ID == c.Account.PrimaryContactID && ct.ID != "" {
			return &c.Contacts[i]
		}
	}
	for i, ct := range c.Contacts {
		if ct.Primary {
			return &c.Contacts[i]
		}
	}
	return nil
}

// latestReachable returns the contact with the latest activity that has a
// valid email and has not opted out, or nil.
func latestReachable(c *model.Client) *model.Contact {
	var best *model.Contact
	for i, ct := range c.Contacts {
		if ct.OptOut || !validEmail(ct.Email) {
			continue
		}
		if best == nil || ct.LastActivityAt.After(best.LastActivityAt) {
			best = &c.Contacts[i]
		}
	}
	return best
}

// contactToCall is the person a rep's nudge names: the primary contact,
// else the latest reachable one, else anyone.
func contactToCall(c *model.Client) *model.Contact {
	if ct := markedPrimary(c); ct != nil {
		return ct
	}
	if ct := latestReachable(c); ct != nil {
		return ct
	}
	if len(c.Contacts) > 0 {
		return &c.Contacts[0]
	}
	return nil
}

func validEmail(s string) bool {
	if s == "" {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}
