package workers

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/crmsync/crmsync/internal/redistest"
	"github.com/crmsync/crmsync/internal/waitfor"
	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/store"
)

// TestDeliveryOnRealRedisSendsEachMessageOnce runs three asynq servers on
// a real Redis over batches that were each enqueued twice (as a retried
// evaluation pass would), stops one server mid-run, and checks that every
// message reached the provider exactly once.
func TestDeliveryOnRealRedisSendsEachMessageOnce(t *testing.T) {
	rdb := redistest.Client(t)
	ns := Namespace(redistest.Namespace(t))
	s := store.New(rdb, string(ns))
	ctx := t.Context()
	snd := &recordingSender{}
	var handled atomic.Int64
	deliverer := newDeliverer(s, snd)
	mux := asynq.NewServeMux()
	mux.HandleFunc(TypeDeliverEmail, func(ctx context.Context, t *asynq.Task) error {
		handled.Add(1)
		return deliverer.ProcessTask(ctx, t)
	})

	const batches, perBatch = 40, 50
	all := messages(batches*perBatch, notify.Email)
	client := asynq.NewClientFromRedisClient(rdb)
	for i := range batches {
		p := DeliverPayload{Pass: "p1", Messages: all[i*perBatch : (i+1)*perBatch]}
		for copy := range 2 {
			task, err := NewDeliverTask(ns, notify.Email, p, ns.TaskID(fmt.Sprintf("batch-%d-copy-%d", i, copy)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := client.EnqueueContext(ctx, task); err != nil {
				t.Fatal(err)
			}
		}
	}

	var servers []*asynq.Server
	for range 3 {
		cfg := ServerConfig(ns, 4, testLogger(), nil)
		cfg.TaskCheckInterval = 10 * time.Millisecond
		srv := asynq.NewServerFromRedisClient(rdb, cfg)
		if err := srv.Start(mux); err != nil {
			t.Fatal(err)
		}
		servers = append(servers, srv)
	}
	for handled.Load() < 5 {
		time.Sleep(5 * time.Millisecond)
	}
	servers[0].Shutdown() // one worker goes away mid-run
	defer servers[1].Shutdown()
	defer servers[2].Shutdown()

	insp := asynq.NewInspectorFromRedisClient(rdb)
	waitfor.Until(t, time.Minute, "the email queue to drain", func() (bool, string) {
		q, err := insp.GetQueueInfo(ns.Queue(QueueEmail))
		if err != nil {
			return false, err.Error()
		}
		return q.Pending+q.Active+q.Retry+q.Scheduled == 0, fmt.Sprintf("%+v", q)
	})
	for _, m := range all {
		if n := snd.count(m.LedgerKey); n != 1 {
			t.Fatalf("%s sent %d times, want exactly 1", m.LedgerKey, n)
		}
	}
}
