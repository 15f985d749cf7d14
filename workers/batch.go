package workers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/crmsync/crmsync/notify"
)

// batcher groups messages into delivery tasks: one channel and one
// delivery time per task. Full tasks are encoded on goroutines of their
// own, two at a time, and enqueued in order by another, while the caller
// goes on planning and rendering the next messages: encoding a task of
// fifty rendered emails takes about as long as enqueueing it. flush
// sends what is left and waits for them all.
type batcher struct {
	ctx     context.Context
	q       enqueuer
	ns      Namespace
	pass    string
	pending map[batchKey][]notify.Message
	counts  map[notify.Channel]int  // read once flush or wait returned
	digests map[string][]DigestItem // by digest key

	jobs     chan *batchJob // to the sending goroutine, in order; nil while none runs
	done     chan struct{}  // closed once it stopped
	encoders chan struct{}  // a token per task being encoded
	mu       sync.Mutex
	err      error // the first send that failed: no further task is sent
}

type batchKey struct {
	ch        notify.Channel
	notBefore int64 // unix seconds; 0: now
}

// batchJob is a task on its way to the sending goroutine: ready is
// closed once it is encoded (t, or err).
type batchJob struct {
	k     batchKey
	n     int // messages
	ready chan struct{}
	t     *asynq.Task
	opts  []asynq.Option // ProcessAt for a delayed task
	err   error
}

// batchQueue is how many full tasks may wait for the sending goroutine,
// and batchEncoders how many are encoded at once.
const (
	batchQueue    = 4
	batchEncoders = 2
)

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
		if b.digests == nil {
			b.digests = map[string][]DigestItem{}
		}
		b.digests[it.key()] = append(b.digests[it.key()], it)
	}
}

// flush sends the messages left, in channel and time order, and waits
// until every task is enqueued; it returns the first error.
func (b *batcher) flush() error {
	keys := slices.Collect(maps.Keys(b.pending))
	slices.SortFunc(keys, func(x, y batchKey) int {
		return cmp.Or(cmp.Compare(x.ch, y.ch), cmp.Compare(x.notBefore, y.notBefore))
	})
	for _, k := range keys {
		if err := b.send(k); err != nil {
			b.wait()
			return err
		}
	}
	return b.wait()
}

// wait waits until the tasks handed to the sending goroutine are
// enqueued, without sending the messages still pending, and returns the
// first error.
func (b *batcher) wait() error {
	if b.jobs != nil {
		close(b.jobs)
		<-b.done
		b.jobs = nil
	}
	return b.failed()
}

func (b *batcher) failed() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// send hands the messages pending under k to the sending goroutine,
// starting it when none runs.
func (b *batcher) send(k batchKey) error {
	if err := b.failed(); err != nil {
		return err
	}
	msgs := b.pending[k]
	if len(msgs) == 0 {
		return nil
	}
	delete(b.pending, k)
	if b.jobs == nil {
		b.jobs, b.done = make(chan *batchJob, batchQueue), make(chan struct{})
		b.encoders = make(chan struct{}, batchEncoders)
		go b.sendJobs(b.jobs, b.done)
	}
	select {
	case b.encoders <- struct{}{}:
	case <-b.ctx.Done():
		return b.ctx.Err()
	}
	j := &batchJob{k: k, n: len(msgs), ready: make(chan struct{})}
	if k.notBefore != 0 {
		j.opts = []asynq.Option{asynq.ProcessAt(time.Unix(k.notBefore, 0))}
	}
	go func() {
		defer func() { <-b.encoders }()
		j.t, j.err = NewDeliverTask(b.ns, k.ch, DeliverPayload{Pass: b.pass, Messages: msgs})
		close(j.ready)
	}()
	select {
	case b.jobs <- j:
		return nil
	case <-b.ctx.Done():
		<-j.ready
		return b.ctx.Err()
	}
}

// sendJobs enqueues the tasks of jobs in order, until it is closed; after
// an error it drops the rest.
func (b *batcher) sendJobs(jobs <-chan *batchJob, done chan<- struct{}) {
	defer close(done)
	for j := range jobs {
		<-j.ready
		if b.failed() != nil {
			continue
		}
		if err := b.enqueue(j); err != nil {
			b.mu.Lock()
			b.err = err
			b.mu.Unlock()
		}
	}
}

// enqueue enqueues the task of j.
func (b *batcher) enqueue(j *batchJob) error {
	if j.err != nil {
		return j.err
	}
	if _, err := b.q.EnqueueContext(b.ctx, j.t, j.opts...); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue %s batch: %w", j.k.ch, err)
	}
	b.counts[j.k.ch] += j.n
	return nil
}
