package workers

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/slack"
)

// sendDigests renders and enqueues the digests a pass's shards gathered:
// per rule and rep, one message listing the rep's flagged accounts, split
// before Slack's limits. It returns the number of messages enqueued.
func (e *Evaluator) sendDigests(ctx context.Context, doc *passDoc) (int, error) {
	raw, err := e.Passes.DigestItems(ctx, doc.Pass)
	if err != nil || len(raw) == 0 {
		return 0, err
	}
	out := newBatcher(ctx, e.Queue, e.NS, doc.Pass)
	for _, key := range slices.Sorted(maps.Keys(raw)) {
		items, err := decodeDigest(raw[key])
		if err != nil {
			return 0, fmt.Errorf("digest %s: %w", key, err)
		}
		msgs, err := digestMessages(doc, items)
		if err != nil {
			return 0, fmt.Errorf("digest %s: %w", key, err)
		}
		if err := out.add(msgs...); err != nil {
			return 0, err
		}
	}
	if err := out.flush(); err != nil {
		return 0, err
	}
	return out.counts[notify.Slack], nil
}

// decodeDigest decodes the items of one digest (see digestOrder).
func decodeDigest(raw [][]byte) ([]DigestItem, error) {
	items := make([]DigestItem, len(raw))
	for i, b := range raw {
		if err := json.Unmarshal(b, &items[i]); err != nil {
			return nil, err
		}
	}
	return digestOrder(items), nil
}

// digestOrder returns the items of one digest with each account once (a
// retried shard may have added it twice), sorted by account name.
func digestOrder(items []DigestItem) []DigestItem {
	seen := map[string]bool{}
	var out []DigestItem
	for _, it := range items {
		if !seen[it.Entry.AccountID] {
			seen[it.Entry.AccountID] = true
			out = append(out, it)
		}
	}
	slices.SortFunc(out, func(a, b DigestItem) int {
		return cmp.Or(cmp.Compare(a.Entry.AccountName, b.Entry.AccountName), cmp.Compare(a.Entry.AccountID, b.Entry.AccountID))
	})
	return out
}

// digestMessages renders the messages of one digest (items share a rule
// and a recipient).
func digestMessages(doc *passDoc, items []DigestItem) ([]notify.Message, error) {
	first := items[0]
	entries := make([]slack.DigestEntry, len(items))
	for i, it := range items {
		entries[i] = it.Entry
	}
	parts, err := slack.RenderDigest(first.Rule, first.Severity, entries)
	if err != nil {
		return nil, err
	}
	to := strings.ToLower(first.To)
	msgs := make([]notify.Message, len(parts))
	for i, p := range parts {
		msgs[i] = notify.Message{
			LedgerKey: LedgerKey(first.Rule, "digest", notify.Slack, to, fmt.Sprintf("%s#%d", doc.Pass, i+1)),
			Channel:   notify.Slack, To: first.To, Text: p.Fallback, Blocks: p.Blocks,
			Pass: doc.Pass, Rule: first.Rule, AccountID: "digest:" + to, CreatedAt: doc.Now,
		}
	}
	return msgs, nil
}
