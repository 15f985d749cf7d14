package workers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/email"
	"github.com/crmsync/crmsync/notify/slack"
	"github.com/crmsync/crmsync/rules"
	"github.com/crmsync/crmsync/store"
)

// suppressionList keeps the unwilling out: the planner and the deliverer
// check it.
type suppressionList interface {
	Suppressed(ctx context.Context, email string) (reason string, ok bool, err error)
}

// sentHistory is the ledger's trail of what each recipient got, for the
// frequency cap.
type sentHistory interface {
	HistoryByRecipient(ctx context.Context, recipient string) ([]store.Entry, error)
}

// planCache is what the plan stage read for the runs at hand, by
// lower-cased address: whether it is suppressed, and its trail.
type planCache struct {
	read       map[string]bool // the addresses read
	suppressed map[string]bool
	trails     fetchedHistory
}

// FrequencyCap limits the emails one contact receives: at most Max in any
// window of length Per, whatever rules fire. Max 0 means no cap.
type FrequencyCap struct {
	Max int
	Per time.Duration
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
	Suppressions    suppressionList
	Ledger          recipientTrails
	Cap             FrequencyCap
	Quiet           *QuietHours    // nil: emails go at any hour
	Location        *time.Location // business time zone, for contacts without one
	Unsubscribe     bool           // emails carry an unsubscribe group: templates link it
	Locale          string         // language of messages (config locale): "en", "fr"
	Currency        string         // ISO 4217 code of amounts whose deals carry none; "": unknown

	zones zones
}

// passPlan is the state of one evaluation pass that planning shares
// across accounts: emails planned so far per address, for the cap.
type passPlan struct {
	pass   string
	now    time.Time
	dryRun bool // a preview: cooldowns are read, not acquired
	// renderOnly plans again matches already planned (planPicked): no
	// rail holds their messages back a second time.
	renderOnly bool
	// refsOnly plans messages without rendering them: a pass under
	// limits.per_pass renders only those it sends (render.go). Nor are
	// the digest items (digests, folds) a match would add rendered,
	// unless items is set: a shard needs none, the pick folds nudges
	// over their cap into them.
	refsOnly bool
	items    bool
	// takeLater: the shards of a pass under limits.per_pass only read
	// whether each match's cooldown is free; the matches that go take it
	// when the pass completes (perPass), and those a later stage holds
	// whole once their batch went through the stages (takeHeld). Most
	// are deferred under the caps, and a cooldown taken then given back
	// cost Redis two scripts a match.
	takeLater bool

	emailed  map[string]int
	baseline map[string]bool // rules whose activation baseline this pass records
	cands    []*candidate    // matches waiting for the per_pass stage
	cache    *planCache      // what the plan stage prefetched for the runs at hand
	digests  []DigestItem    // gathered by a preview, which renders them at its end

	// compareSnapshots: an earlier pass saved the month's snapshots the
	// same day; only those that changed are written (passDoc).
	compareSnapshots bool
}

// rendersItems reports whether digest items and folds are rendered.
func (pp *passPlan) rendersItems() bool { return !pp.refsOnly || pp.items }

func newPassPlan(pass string, now time.Time) *passPlan {
	return &passPlan{pass: pass, now: now, emailed: map[string]int{}}
}

// planned is the outcome of planning one match.
type planned struct {
	msgs    []notify.Message
	digests []DigestItem
	folds   []DigestItem // each Slack message as the digest item that would replace it
	holds   []hold       // messages held back, and why
}

// heldBack records messages held back.
func (out *planned) heldBack(hs ...hold) { out.holds = append(out.holds, hs...) }

// DigestItem is an account going into a rep's digest of a rule: sent, with
// the rep's other accounts, when the pass completes.
type DigestItem struct {
	Rule     string            `json:"rule"`
	Severity string            `json:"severity"`
	To       string            `json:"to"`
	Entry    slack.DigestEntry `json:"entry"`
}

// key groups items into digests: one per recipient and pass, whatever
// the rules.
func (it DigestItem) key() string { return strings.ToLower(it.To) }

// Plan renders the messages of match m for client c in the pass.
func (p *Planner) Plan(ctx context.Context, pp *passPlan, c *model.Client, f rules.Features, m rules.Match) (planned, error) {
	var out planned
	pass, now := pp.pass, pp.now
	var base notify.Data // what is rendered from: nothing, by reference
	if pp.rendersItems() {
		var err error
		if base, err = p.data(now, c, f, m.Rule); err != nil {
			return out, fmt.Errorf("account %s: %w", c.Account.ID, err)
		}
	}
	for _, a := range m.Actions {
		var err error
		switch {
		case a.Email != nil:
			err = p.planEmail(ctx, &out, pp, base, c, m.Rule, a.Email)
		case a.Slack != nil:
			err = p.planSlack(&out, pp, base, c, m.Rule, a.Slack)
			if err == nil && !a.Slack.Digest && pp.rendersItems() {
				err = p.planFolds(&out, pp, base, c, m.Rule, *a.Slack)
			}
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
		if !pp.refsOnly {
			out.msgs[i].Features = f.Map()
		}
		out.msgs[i].CreatedAt = now
	}
	return out, nil
}

// planFolds adds to out the digest items that would replace the nudges
// of action a, should their recipients be over their per-pass cap.
func (p *Planner) planFolds(out *planned, pp *passPlan, d notify.Data, c *model.Client, r *rules.Rule, a rules.SlackAction) error {
	a.Digest = true
	var alt planned
	if err := p.planSlack(&alt, pp, d, c, r, &a); err != nil {
		return err
	}
	out.folds = append(out.folds, alt.digests...)
	return nil
}

// data is what the messages of rule r about client c are rendered from:
// the figures, the language, the currency of the account's latest won
// deal (else the configured one) and the rule's title for the account.
func (p *Planner) data(now time.Time, c *model.Client, f rules.Features, r *rules.Rule) (notify.Data, error) {
	d := notify.Data{
		Rule: r.Name, Description: r.Description, Severity: r.Severity,
		Locale: p.Locale, Currency: p.Currency,
		Account: c.Account, Owner: c.Owner,
		Revenue12m: f.Revenue12m, RevenuePrev12m: f.RevenuePrev12m, RevenueTrend: f.RevenueTrend,
		DaysInactive: f.DaysInactive, DaysSincePurchase: f.DaysSincePurchase, ABC: f.ABC,
		Now: now,
	}
	var latest *model.Deal
	for i, deal := range c.Deals {
		if deal.Won && strings.TrimSpace(deal.Currency) != "" && (latest == nil || deal.ClosedAt.After(latest.ClosedAt)) {
			latest = &c.Deals[i]
		}
	}
	if latest != nil {
		d.Currency = strings.ToUpper(strings.TrimSpace(latest.Currency))
	}
	var err error
	d.Title, err = r.RenderTitle(d)
	return d, err
}

func (p *Planner) planEmail(ctx context.Context, out *planned, pp *passPlan, d notify.Data, c *model.Client, r *rules.Rule, a *rules.EmailAction) error {
	recipients, holds := emailRecipients(c, a.To)
	out.heldBack(holds...)
	seen := map[string]bool{}
	for _, ct := range recipients {
		addr := strings.ToLower(ct.Email)
		if seen[addr] {
			continue
		}
		seen[addr] = true
		reason, err := p.holdBack(ctx, pp, addr)
		if err != nil {
			return err
		}
		if reason != "" {
			out.heldBack(hold{reason: reason, detail: addr})
			continue
		}
		pp.emailed[addr]++
		d.Contact = &ct
		d.Unsubscribe = p.Unsubscribe
		m := notify.Message{
			LedgerKey: LedgerKey(r.Name, c.Account.ID, notify.Email, addr, pp.pass),
			Channel:   notify.Email, To: ct.Email, ToName: ct.Name(), From: p.From.Email,
		}
		if !pp.refsOnly {
			if err := p.renderEmail(&m, a.Template, d); err != nil {
				return err
			}
		}
		if p.Quiet != nil {
			m.NotBefore = p.Quiet.Next(pp.now, p.zoneOf(c, &ct))
		}
		if p.ReplyToOwner && c.Owner != nil && model.ValidEmail(c.Owner.Email) {
			m.ReplyTo = c.Owner.Email
		}
		out.msgs = append(out.msgs, m)
	}
	return nil
}

// PlanResolved renders the on_resolve note of rule r for client c, whose
// flag stopped holding: a Slack message to the owner (or the fallback
// channel) and to the action's channel.
func (p *Planner) PlanResolved(pp *passPlan, c *model.Client, f rules.Features, r *rules.Rule) (planned, error) {
	var out planned
	a := r.OnResolve
	if a == nil {
		return out, nil
	}
	d, err := p.data(pp.now, c, f, r)
	if err != nil {
		return out, err
	}
	d.Contact = contactToCall(c)
	text, err := a.Render(d)
	if err != nil {
		return out, err
	}
	fallback, blocks, err := slack.RenderResolved(d, text)
	if err != nil {
		return out, err
	}
	for _, to := range p.slackTargets(&out, c, a) {
		out.msgs = append(out.msgs, notify.Message{
			LedgerKey: LedgerKey(r.Name, c.Account.ID, notify.Slack, strings.ToLower(to), "resolved@"+pp.pass),
			Channel:   notify.Slack, To: to, Text: fallback, Blocks: blocks,
			Pass: pp.pass, Rule: r.Name, AccountID: c.Account.ID, Expression: r.When, Features: f.Map(), CreatedAt: pp.now,
		})
	}
	return out, nil
}

// IsDynamicTemplate reports whether name is a SendGrid dynamic template
// id ("d-..."), rendered by SendGrid, rather than a local template.
func IsDynamicTemplate(name string) bool { return strings.HasPrefix(name, "d-") }

// renderEmail fills the content of m: the local template rendered, or the
// dynamic template's id and data.
func (p *Planner) renderEmail(m *notify.Message, template string, d notify.Data) error {
	if IsDynamicTemplate(template) {
		m.TemplateID, m.TemplateData = template, d.TemplateData()
		return nil
	}
	var err error
	m.Subject, m.Text, m.HTML, err = p.Email.Render(template, d)
	return err
}

// prefetch reads, in two round trips, whether each address the email
// actions of runs would go to is suppressed and, under a frequency cap,
// what it was sent: holdBack then reads them from pp.cache.
func (p *Planner) prefetch(ctx context.Context, pp *passPlan, runs []*matchRun) error {
	var addrs []string
	seen := map[string]bool{}
	for _, r := range runs {
		for _, a := range r.m.Actions {
			if a.Email == nil {
				continue
			}
			recipients, _ := emailRecipients(&r.s.c, a.Email.To)
			for _, ct := range recipients {
				if addr := strings.ToLower(ct.Email); !seen[addr] {
					seen[addr] = true
					addrs = append(addrs, addr)
				}
			}
		}
	}
	pp.cache = nil // a batch's answers are not kept for the next
	return p.readRails(ctx, pp, addrs)
}

// readRails adds to pp.cache what the rails read of addrs.
func (p *Planner) readRails(ctx context.Context, pp *passPlan, addrs []string) error {
	if pp.cache == nil {
		pp.cache = &planCache{read: map[string]bool{}, suppressed: map[string]bool{}, trails: fetchedHistory{}}
	}
	if len(addrs) == 0 {
		return nil
	}
	sup, err := suppressedOf(ctx, p.Suppressions, addrs)
	if err != nil {
		return err
	}
	var trails fetchedHistory
	if p.Cap.Max > 0 {
		if trails, err = trailsOf(ctx, p.Ledger, addrs); err != nil {
			return err
		}
	}
	for _, a := range addrs {
		pp.cache.read[a], pp.cache.suppressed[a], pp.cache.trails[a] = true, sup[a], trails[a]
	}
	return nil
}

// holdBack returns why an email to addr must not be planned, or "". It
// reads what the plan stage prefetched (an address it did not is read
// now).
func (p *Planner) holdBack(ctx context.Context, pp *passPlan, addr string) (Hold, error) {
	if pp.renderOnly {
		return "", nil
	}
	if pp.cache == nil || !pp.cache.read[addr] {
		if err := p.readRails(ctx, pp, []string{addr}); err != nil {
			return "", err
		}
	}
	if pp.cache.suppressed[addr] {
		return SkipSuppressed, nil
	}
	if p.Cap.Max <= 0 {
		return "", nil
	}
	n, err := recentEmails(ctx, pp.cache.trails, addr, pp.now.Add(-p.Cap.Per), "")
	if err != nil {
		return "", err
	}
	if n+pp.emailed[addr] >= p.Cap.Max {
		return SkipCapped, nil
	}
	return "", nil
}

// recentEmails counts the emails sent or being sent to addr since since,
// other than the one under key.
func recentEmails(ctx context.Context, h sentHistory, addr string, since time.Time, key string) (int, error) {
	entries, err := h.HistoryByRecipient(ctx, addr)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if e.Channel == string(notify.Email) && e.Key != key && e.Status != store.StatusFailed && e.ClaimedAt.After(since) {
			n++
		}
	}
	return n, nil
}

// zoneOf is the time zone quiet hours are read in for contact ct: its own,
// else its account's, else the business's.
func (p *Planner) zoneOf(c *model.Client, ct *model.Contact) *time.Location {
	return p.zones.get(p.Location, ct.TimeZone, c.Account.TimeZone)
}

func (p *Planner) planSlack(out *planned, pp *passPlan, d notify.Data, c *model.Client, r *rules.Rule, a *rules.SlackAction) error {
	pass := pp.pass
	d.Contact = contactToCall(c)
	// Planned by reference, a nudge is rendered once it is sent, and a
	// digest item unrendered only tells that the match has one.
	var text string
	if !pp.refsOnly || a.Digest && pp.items {
		var err error
		if text, err = a.Render(d); err != nil {
			return err
		}
	}
	if a.Digest {
		var entry slack.DigestEntry
		if pp.rendersItems() {
			entry = slack.NewDigestEntry(d, text)
		}
		for _, to := range p.slackTargets(out, c, a) {
			out.digests = append(out.digests, DigestItem{Rule: r.Name, Severity: r.Severity, To: to, Entry: entry})
		}
		return nil
	}
	for _, to := range p.slackTargets(out, c, a) {
		var fallback string
		var blocks []byte
		if !pp.refsOnly {
			var err error
			if fallback, blocks, err = slack.Render(d, text, slack.AudienceOf(to)); err != nil {
				return err
			}
		}
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

// slackTargets returns where a Slack action goes: the owner (by email),
// else the fallback channel, and the action's channel copy.
func (p *Planner) slackTargets(out *planned, c *model.Client, a *rules.SlackAction) []string {
	var targets []string
	if a.To == rules.SlackToOwner {
		switch {
		case c.Owner != nil && model.ValidEmail(c.Owner.Email):
			targets = append(targets, c.Owner.Email)
		case p.FallbackChannel != "":
			targets = append(targets, p.FallbackChannel)
		default:
			out.heldBack(hold{reason: SkipNoOwner})
		}
	}
	if a.Channel != "" && !slices.Contains(targets, a.Channel) {
		targets = append(targets, a.Channel)
	}
	return targets
}

// LedgerKey identifies one message in the ledger: a rule, an account, a
// channel, a recipient and the cooldown period, named by the pass that
// opened it. Whatever retries or re-runs happen, one key is sent once.
func LedgerKey(rule, accountID string, ch notify.Channel, recipient, pass string) string {
	return strings.Join([]string{rule, accountID, string(ch), recipient, pass}, "|")
}

// emailRecipients picks the contacts an email action goes to, and why
// others were left out.
func emailRecipients(c *model.Client, to string) ([]model.Contact, []hold) {
	if to == "all_contacts" {
		return allContacts(c)
	}
	if ct := markedPrimary(c); ct != nil {
		if h, ok := unreachable(ct); ok {
			return nil, []hold{h} // nobody else in their place
		}
		return []model.Contact{*ct}, nil
	}
	if ct := latestReachable(c); ct != nil {
		return []model.Contact{*ct}, nil
	}
	return nil, []hold{{reason: SkipNoContact}}
}

// allContacts returns every contact that can be emailed, and why others
// cannot. Contacts without an address are left out silently.
func allContacts(c *model.Client) ([]model.Contact, []hold) {
	var out []model.Contact
	var holds []hold
	for _, ct := range c.Contacts {
		h, ok := unreachable(&ct)
		switch {
		case !ok:
			out = append(out, ct)
		case h.reason != SkipNoContact:
			holds = append(holds, h)
		}
	}
	if len(out) == 0 && len(holds) == 0 {
		holds = append(holds, hold{reason: SkipNoContact})
	}
	return out, holds
}

// unreachable tells why contact ct cannot be emailed, if it cannot: it
// opted out, has no address, or has one SendGrid would refuse.
func unreachable(ct *model.Contact) (hold, bool) {
	switch {
	case ct.OptOut:
		return hold{reason: SkipOptedOut}, true
	case ct.Email == "":
		return hold{reason: SkipNoContact}, true
	case !model.ValidEmail(ct.Email):
		return hold{reason: SkipInvalidEmail, detail: ct.Email}, true
	}
	return hold{}, false
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
		if _, ok := unreachable(&ct); ok {
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
