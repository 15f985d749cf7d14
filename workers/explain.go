package workers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/crmsync/crmsync/internal/suggest"
	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/rules"
)

// AccountExplanation is what the rules make of one account: its features,
// as a pass computes them, and for each rule whether it holds and which
// conditions of its `when` decided it.
type AccountExplanation struct {
	AccountID string              `json:"account_id"`
	Account   string              `json:"account"`
	Owner     string              `json:"owner,omitempty"`
	Sources   []string            `json:"sources,omitempty"` // merged from (config merge)
	Features  map[string]any      `json:"features"`
	Rules     []rules.Explanation `json:"rules"`
}

// UnknownAccountError is returned for an account id that is not in the
// portfolio, with the known accounts closest to it.
type UnknownAccountError struct {
	ID string
	// Suggestions are "sample:A00042 (Acme)": the account whose id or
	// name is closest to ID, when one is a plausible typo.
	Suggestions []string
}

// Error implements error.
func (e *UnknownAccountError) Error() string {
	msg := fmt.Sprintf("no account %q", e.ID)
	if len(e.Suggestions) > 0 {
		msg += " (did you mean " + strings.Join(e.Suggestions, " or ") + "?)"
	}
	return msg
}

// Explain computes the features of account accountID at now as a pass
// would (segmentation included, which reads the whole portfolio) and
// explains every rule on it. An account that is not in the portfolio is
// an *UnknownAccountError.
func (e *Evaluator) Explain(ctx context.Context, now time.Time, accountID string) (*AccountExplanation, error) {
	doc, err := e.plan(ctx, "preview", now)
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	cs, err := e.portfolio(doc).Clients(ctx, []string{accountID})
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	if len(cs) == 0 {
		sugg, err := e.closestAccounts(ctx, accountID)
		if err != nil {
			return nil, fmt.Errorf("explain: %w", err)
		}
		return nil, &UnknownAccountError{ID: accountID, Suggestions: sugg}
	}
	c := cs[0]
	f := rules.Compute(now, &c)
	doc.Segmenter.Apply(c.Account.ID, &f)
	x := &AccountExplanation{
		AccountID: c.Account.ID, Account: c.Account.Name, Sources: accountSources(c.Account.Sources), Features: f.Map(),
		Rules: e.Rules.Explain(now, &c, f),
	}
	if c.Owner != nil {
		x.Owner = c.Owner.Name
	}
	return x, nil
}

// closestAccounts returns the account whose id (whole or without its
// source), or name, is closest to id, ignoring case: "sample:A00042
// (Acme)"; none when no account is a plausible typo of id.
func (e *Evaluator) closestAccounts(ctx context.Context, id string) ([]string, error) {
	var keys []string
	byKey := map[string]string{}
	add := func(key, shown string) {
		key = strings.ToLower(key)
		if _, ok := byKey[key]; !ok && key != "" {
			keys = append(keys, key)
			byKey[key] = shown
		}
	}
	err := e.Records.EachClient(ctx, 500, func(c model.Client) error {
		shown := c.Account.ID
		if c.Account.Name != "" {
			shown += " (" + c.Account.Name + ")"
		}
		add(c.Account.ID, shown)
		add(c.Account.ExternalID, shown)
		add(c.Account.Name, shown)
		return nil
	})
	if err != nil {
		return nil, err
	}
	best := suggest.Closest(strings.ToLower(id), keys)
	if best == "" {
		return nil, nil
	}
	return []string{byKey[best]}, nil
}
