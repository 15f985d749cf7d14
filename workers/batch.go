package workers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hibiken/asynq"

	"github.com/crmsync/crmsync/notify"
)

// batcher groups messages into delivery tasks: one channel and one
// delivery time per task.
type batcher struct {
	ctx     context.Context
	q       enqueuer
	ns      Namespace
	pass    string
	pending map[batchKey][]notify.Message
	counts  map[notify.Channel]int
	digests map[string][][]byte // digest key → encoded DigestItems
}

type batchKey struct {
	ch        notify.Channel
	notBefore int64 // unix seconds; 0: now
}

func newBatcher(ctx context.Context, q enqueuer, ns Namespace, pass string) *batcher {
	return &batcher{ctx: ctx, q: q, ns: ns, pass: pass, pending: map[batchKey][]notify.Message{}, counts: map[notify.Channel]int{}}
}

func (b *batcher) add(msgs ...notify.Message) error {
	for _, m := range msgs {
		k := batchKey{ch: m.Channel}
		if !m.NotBefore.IsZero() {
			k.notBefore = m.NotBefore.Unix()
		}
		b.pending[k] = append(b.pending[k], m)
		if len(b.pending[k]) >= BatchSize {
			if err := b.send(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// addDigest keeps items for the digests sent when the pass completes.
func (b *batcher) addDigest(items ...DigestItem) {
	for _, it := range items {
		v, _ := json.Marshal(it) // strings only: always encodes
		if b.digests == nil {
			b.digests = map[string][][]byte{}
		}
		b.digests[it.key()] = append(b.digests[it.key()], v)
	}
}

func (b *batcher) flush() error {
	keys := slices.Collect(maps.Keys(b.pending))
	slices.SortFunc(keys, func(x, y batchKey) int {
		return cmp.Or(cmp.Compare(x.ch, y.ch), cmp.Compare(x.notBefore, y.notBefore))
	})
	for _, k := range keys {
		if err := b.send(k); err != nil {
			return err
		}
	}
	return nil
}

func (b *batcher) send(k batchKey) error {
	msgs := b.pending[k]
	if len(msgs) == 0 {
		return nil
	}
	var opts []asynq.Option
	if k.notBefore != 0 {
		opts = append(opts, asynq.ProcessAt(time.Unix(k.notBefore, 0)))
	}
	t, err := NewDeliverTask(b.ns, k.ch, DeliverPayload{Pass: b.pass, Messages: msgs})
	if err != nil {
		return err
	}
	if _, err := b.q.EnqueueContext(b.ctx, t, opts...); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue %s batch: %w", k.ch, err)
	}
	b.counts[k.ch] += len(msgs)
	delete(b.pending, k)
	return nil
}
