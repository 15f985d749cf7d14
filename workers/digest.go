package workers

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/internal/parallel"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/notify/slack"
)

// sendDigests renders and enqueues the digests of a pass: items are
// their items by digest key (a rule and a recipient), one message per
// rule and rep listing the rep's flagged accounts, split before Slack's
// limits. The digests are rendered on all cores, a part at a time, and
// enqueued in recipient order while the next part renders. It returns
// the number of messages enqueued.
func (e *Evaluator) sendDigests(ctx context.Context, doc *passDoc, items map[string][]DigestItem) (int, error) {
	if len(items) == 0 {
		return 0, nil
	}
	keys := slices.Sorted(maps.Keys(items))
	out := newBatcher(ctx, e.Queue, e.NS, doc.Pass)
	for part := range slices.Chunk(keys, digestPart) {
		msgs, err := renderDigests(doc, items, part)
		if err == nil {
			err = out.add(slices.Concat(msgs...)...)
		}
		if err != nil {
			out.wait()
			return 0, err
		}
	}
	if err := out.flush(); err != nil {
		return 0, err
	}
	return out.counts[notify.Slack], nil
}

// digestPart is how many digests sendDigests renders before it hands
// their messages to be enqueued.
const digestPart = 128

// renderDigests renders the digests of keys on every core, each digest's
// messages at its key's index.
func renderDigests(doc *passDoc, items map[string][]DigestItem, keys []string) ([][]notify.Message, error) {
	msgs := make([][]notify.Message, len(keys))
	err := parallel.Ranges(len(keys), 1, func(lo, hi int) error {
		for i := lo; i < hi; i++ {
			var err error
			if msgs[i], err = digestMessages(doc, digestOrder(items[keys[i]])); err != nil {
				return fmt.Errorf("digest %s: %w", keys[i], err)
			}
		}
		return nil
	})
	return msgs, err
}

// encodeDigests encodes digest items, by digest key, for the pass's
// digests in Redis (store.Passes.AddDigestItems).
func encodeDigests(items map[string][]DigestItem) map[string][][]byte {
	out := make(map[string][][]byte, len(items))
	for k, list := range items {
		for _, it := range list {
			b, _ := json.Marshal(it) // strings only: always encodes
			out[k] = append(out[k], b)
		}
	}
	return out
}

// decodeDigests decodes digest items encoded by encodeDigests, by digest
// key.
func decodeDigests(raw map[string][][]byte) (map[string][]DigestItem, error) {
	out := make(map[string][]DigestItem, len(raw))
	for k, list := range raw {
		items := make([]DigestItem, len(list))
		for i, b := range list {
			if err := json.Unmarshal(b, &items[i]); err != nil {
				return nil, fmt.Errorf("digest %s: %w", k, err)
			}
		}
		out[k] = items
	}
	return out, nil
}

// digestOrder returns the items of one digest with each account once (a
// retried shard may have added it twice, and a rep's digest may hold an
// account flagged by several rules: the most severe one is kept), by
// revenue at risk, as the digest shows them (slack.CompareEntries).
func digestOrder(items []DigestItem) []DigestItem {
	byAccount := map[string]int{}
	var out []DigestItem
	for _, it := range items {
		it.Entry.Rule = cmp.Or(it.Entry.Rule, it.Rule) // items queued before entries carried their rule
		it.Entry.Severity = cmp.Or(it.Entry.Severity, it.Severity)
		i, seen := byAccount[it.Entry.AccountID]
		switch {
		case !seen:
			byAccount[it.Entry.AccountID] = len(out)
			out = append(out, it)
		case slack.SeverityRank(it.Severity) < slack.SeverityRank(out[i].Severity):
			out[i] = it
		}
	}
	slices.SortStableFunc(out, func(a, b DigestItem) int { return slack.CompareEntries(a.Entry, b.Entry) })
	return out
}

// digestMessages renders the messages of one digest: items share a
// recipient, a rep (a DM) or a channel, and are in digestOrder. The
// digest is written in the language its entries were planned in.
func digestMessages(doc *passDoc, items []DigestItem) ([]notify.Message, error) {
	first := items[0]
	rule := first.Rule
	entries := make([]slack.DigestEntry, len(items))
	for i, it := range items {
		entries[i] = it.Entry
		if it.Rule != rule {
			rule = "digest" // several rules: the rep's digest of the pass
		}
	}
	dg := slack.Digest{To: first.To, Channel: slack.AudienceOf(first.To) == slack.ToChannel, Locale: first.Entry.Locale, Entries: entries}
	parts, err := slack.RenderDigest(dg)
	if err != nil {
		return nil, err
	}
	to := strings.ToLower(first.To)
	msgs := make([]notify.Message, len(parts))
	for i, p := range parts {
		msgs[i] = notify.Message{
			LedgerKey: LedgerKey(rule, "digest", notify.Slack, to, fmt.Sprintf("%s#%d", doc.Pass, i+1)),
			Channel:   notify.Slack, To: first.To, Text: p.Fallback, Blocks: p.Blocks,
			Pass: doc.Pass, Rule: rule, AccountID: "digest:" + to, CreatedAt: doc.Now,
		}
	}
	return msgs, nil
}
