package workers

import (
	"context"

	"github.com/crmsync/crmsync/store"
)

// The email rails a message goes through twice, when a pass plans it and
// when a worker sends it: its address must not be suppressed, nor over
// the frequency cap. Both read them for a whole batch of addresses at
// once, through the functions below.

// suppressionBatch is a suppression list read for many addresses at once.
type suppressionBatch interface {
	SuppressedMany(ctx context.Context, emails []string) ([]bool, error)
}

// recipientTrails is the ledger's trail of many recipients read at once.
type recipientTrails interface {
	HistoryByRecipients(ctx context.Context, recipients []string) ([][]store.Entry, error)
}

// suppressedOf returns the suppressed addresses of addrs, read at once
// when the list can.
func suppressedOf(ctx context.Context, l suppressionList, addrs []string) (map[string]bool, error) {
	out := map[string]bool{}
	if sb, ok := l.(suppressionBatch); ok {
		yes, err := sb.SuppressedMany(ctx, addrs)
		if err != nil {
			return nil, err
		}
		for i, a := range addrs {
			if yes[i] {
				out[a] = true
			}
		}
		return out, nil
	}
	for _, a := range addrs {
		_, ok, err := l.Suppressed(ctx, a)
		if err != nil {
			return nil, err
		}
		if ok {
			out[a] = true
		}
	}
	return out, nil
}

// trailsOf reads the ledger's trail of each of addrs.
func trailsOf(ctx context.Context, h recipientTrails, addrs []string) (fetchedHistory, error) {
	hs, err := h.HistoryByRecipients(ctx, addrs)
	if err != nil {
		return nil, err
	}
	out := make(fetchedHistory, len(addrs))
	for i, a := range addrs {
		out[a] = hs[i]
	}
	return out, nil
}

// fetchedHistory is the recipients' trails read for a batch.
type fetchedHistory map[string][]store.Entry

// HistoryByRecipient implements sentHistory.
func (f fetchedHistory) HistoryByRecipient(_ context.Context, recipient string) ([]store.Entry, error) {
	return f[recipient], nil
}
