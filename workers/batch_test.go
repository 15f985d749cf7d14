package workers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/crmsync/crmsync/notify"
)

// failingQueue records tasks like taskRecorder and fails the failAt-th
// (1-based; 0: never), slowly, so that later tasks are encoded meanwhile.
type failingQueue struct {
	taskRecorder
	failAt, calls int
}

func (q *failingQueue) EnqueueContext(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	q.calls++ // only the batcher's sending goroutine calls it
	if q.calls == q.failAt {
		time.Sleep(10 * time.Millisecond)
		return nil, errors.New("redis: connection refused")
	}
	return q.taskRecorder.EnqueueContext(ctx, t, opts...)
}

func TestBatcherSendsInOrder(t *testing.T) {
	tests := []struct {
		name    string
		failAt  int
		tasks   int    // enqueued
		wantErr string // "" for none
	}{
		{name: "all sent", tasks: 7},
		{name: "third fails: the rest dropped", failAt: 3, tasks: 2, wantErr: "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &failingQueue{failAt: tt.failAt}
			b := newBatcher(context.Background(), q, "t", "p1")
			var err error
			for i := range 7*BatchSize - 3 { // six full tasks and a partial one
				m := notify.Message{Channel: notify.Email, LedgerKey: fmt.Sprintf("k%04d", i), HTML: "<p>a & b</p>"}
				if err = b.add(m); err != nil {
					break
				}
			}
			if ferr := b.flush(); err == nil {
				err = ferr
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if len(q.tasks) != tt.tasks {
				t.Fatalf("%d tasks enqueued, want %d", len(q.tasks), tt.tasks)
			}
			next := 0
			for _, m := range q.messages() {
				if want := fmt.Sprintf("k%04d", next); m.LedgerKey != want || m.HTML != "<p>a & b</p>" {
					t.Fatalf("message %q %q, want %s in order, its HTML as it was", m.LedgerKey, m.HTML, want)
				}
				next++
			}
			if tt.wantErr == "" && b.counts[notify.Email] != 7*BatchSize-3 {
				t.Errorf("counted %d, want %d", b.counts[notify.Email], 7*BatchSize-3)
			}
		})
	}
}
