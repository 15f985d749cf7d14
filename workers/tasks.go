package workers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/crmsync/crmsync/notify"
)

// Task types.
const (
	TypeSync          = "sync:source"
	TypeEvaluate      = "evaluate:pass"
	TypeEvaluateShard = "evaluate:shard"
	TypeDeliverEmail  = "deliver:email"
	TypeDeliverSlack  = "deliver:slack"
)

// Queues, by priority. These are the names within a deployment; asynq
// sees them prefixed with the namespace (Namespace.Queue).
const (
	QueueSlack    = "slack"
	QueueEmail    = "email"
	QueueEvaluate = "evaluate"
	QueueSync     = "sync"
)

// queueWeights are the queue priorities: a non-empty queue is picked in
// proportion to its weight.
var queueWeights = map[string]int{QueueSlack: 6, QueueEmail: 4, QueueEvaluate: 2, QueueSync: 1}

// Namespace is a deployment's prefix for what it keeps in asynq: its queues
// are "<namespace>:<queue>" and its task ids "<namespace>:<id>", so two
// deployments on one Redis database (staging and production) never take
// each other's tasks. It is the store's namespace (redis.namespace).
type Namespace string

// Queue returns the asynq name of queue q of the deployment.
func (ns Namespace) Queue(q string) string { return string(ns) + ":" + q }

// Queues lists the asynq names of every queue of the deployment.
func (ns Namespace) Queues() []string {
	return []string{ns.Queue(QueueSlack), ns.Queue(QueueEmail), ns.Queue(QueueEvaluate), ns.Queue(QueueSync)}
}

// Weights returns the asynq queue priorities of the deployment.
func (ns Namespace) Weights() map[string]int {
	w := make(map[string]int, len(queueWeights))
	for q, n := range queueWeights {
		w[ns.Queue(q)] = n
	}
	return w
}

// TaskID is the asynq.TaskID option naming a task of the deployment.
func (ns Namespace) TaskID(id string) asynq.Option { return asynq.TaskID(string(ns) + ":" + id) }

// BatchSize is the number of messages a delivery task carries.
const BatchSize = 50

// SyncPayload asks for one source to be synced.
type SyncPayload struct {
	Source string `json:"source"`
	Full   bool   `json:"full,omitempty"` // forget the watermark and pull everything
	// At is when the sync was asked for: a sync that started after it and
	// completed does what was asked, and this one then pulls nothing.
	At time.Time `json:"at,omitzero"`
}

// EvaluatePayload asks for one evaluation pass. The pass id names the pass
// in the ledger and reports; Now is fixed at enqueue time so a retried pass
// sees the same clock.
type EvaluatePayload struct {
	Pass string    `json:"pass"`
	Now  time.Time `json:"now"`
}

// ShardPayload asks for one shard of a planned pass to be evaluated.
type ShardPayload struct {
	Pass  string `json:"pass"`
	Shard int    `json:"shard"`
}

// NewShardTask returns a task evaluating one shard of a pass; its id names
// the pass and the shard, so each shard is evaluated once per pass.
func NewShardTask(ns Namespace, p ShardPayload, opts ...asynq.Option) (*asynq.Task, error) {
	base := []asynq.Option{asynq.Queue(ns.Queue(QueueEvaluate)), ns.TaskID(ShardTaskID(p.Pass, p.Shard)),
		asynq.MaxRetry(5), asynq.Timeout(30 * time.Minute), asynq.Retention(24 * time.Hour)}
	return newTask(TypeEvaluateShard, p, append(base, opts...)...)
}

// DeliverPayload is a batch of rendered messages of one channel.
type DeliverPayload struct {
	Pass     string           `json:"pass"`
	Messages []notify.Message `json:"messages"`
}

// ShardTaskID is the id (within the namespace) of the task evaluating
// one shard of a pass.
func ShardTaskID(pass string, shard int) string {
	return fmt.Sprintf("evaluate:%s:shard:%d", pass, shard)
}

// EvaluateTaskID is the id (within the namespace) of a pass's coordinator
// task.
func EvaluateTaskID(pass string) string { return "evaluate:" + pass }

// NewSyncTask returns a task syncing the named source.
func NewSyncTask(ns Namespace, p SyncPayload, opts ...asynq.Option) (*asynq.Task, error) {
	if p.At.IsZero() {
		p.At = time.Now()
	}
	return newTask(TypeSync, p, append([]asynq.Option{asynq.Queue(ns.Queue(QueueSync)), asynq.MaxRetry(10), asynq.Timeout(2 * time.Hour)}, opts...)...)
}

// NewEvaluateTask returns a task running one evaluation pass; its task id
// is the pass, so a pass is enqueued once however many schedulers run.
func NewEvaluateTask(ns Namespace, p EvaluatePayload, opts ...asynq.Option) (*asynq.Task, error) {
	base := []asynq.Option{asynq.Queue(ns.Queue(QueueEvaluate)), ns.TaskID(EvaluateTaskID(p.Pass)), asynq.MaxRetry(5), asynq.Timeout(time.Hour), asynq.Retention(24 * time.Hour)}
	return newTask(TypeEvaluate, p, append(base, opts...)...)
}

// NewDeliverTask returns a task delivering a batch of messages of channel
// ch. Its id derives from the ledger keys it carries, so enqueuing the same
// batch twice (a retried evaluation) is a no-op.
func NewDeliverTask(ns Namespace, ch notify.Channel, p DeliverPayload, opts ...asynq.Option) (*asynq.Task, error) {
	typ, queue := TypeDeliverEmail, QueueEmail
	if ch == notify.Slack {
		typ, queue = TypeDeliverSlack, QueueSlack
	}
	h := sha256.New()
	for _, m := range p.Messages {
		h.Write([]byte(m.LedgerKey))
		h.Write([]byte{0})
	}
	id := "deliver:" + hex.EncodeToString(h.Sum(nil))[:32]
	base := []asynq.Option{asynq.Queue(ns.Queue(queue)), ns.TaskID(id), asynq.MaxRetry(8), asynq.Timeout(5 * time.Minute)}
	b, err := deliverJSON(p)
	if err != nil {
		return nil, fmt.Errorf("encode %s payload: %w", typ, err)
	}
	return asynq.NewTask(typ, b, append(base, opts...)...), nil
}

// deliverJSON encodes p as newTask does, but copies each message's
// Blocks as they are: encoding/json validates and compacts a RawMessage
// byte by byte, which made encoding a batch of Slack nudges cost twice
// what rendering them did. Blocks are always JSON written by package
// slack, or read back from a payload that held them.
func deliverJSON(p DeliverPayload) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(512 + 2048*len(p.Messages))
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	b.WriteString(`{"pass":`)
	if err := enc.Encode(p.Pass); err != nil {
		return nil, err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	if p.Messages == nil {
		b.WriteString(`,"messages":null}`)
		return b.Bytes(), nil
	}
	b.WriteString(`,"messages":[`)
	for i := range p.Messages {
		if i > 0 {
			b.WriteByte(',')
		}
		m := p.Messages[i]
		blocks := m.Blocks
		m.Blocks = nil
		if err := enc.Encode(&m); err != nil {
			return nil, err
		}
		b.Truncate(b.Len() - 1)
		if len(blocks) > 0 {
			b.Truncate(b.Len() - 1) // the message's closing brace
			b.WriteString(`,"blocks":`)
			b.Write(blocks)
			b.WriteByte('}')
		}
	}
	b.WriteString("]}")
	return b.Bytes(), nil
}

// newTask encodes payload as JSON, leaving '<', '>' and '&' as they are:
// escaping them, as json.Marshal does for HTML, made a task of rendered
// emails larger and slower to encode for nothing.
func newTask(typ string, payload any, opts ...asynq.Option) (*asynq.Task, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(payload); err != nil {
		return nil, fmt.Errorf("encode %s payload: %w", typ, err)
	}
	return asynq.NewTask(typ, bytes.TrimSuffix(b.Bytes(), []byte("\n")), opts...), nil
}

// decode reads a task payload; a payload that does not decode will never
// decode, so it is not retried.
func decode(t *asynq.Task, v any) error {
	if err := json.Unmarshal(t.Payload(), v); err != nil {
		return fmt.Errorf("decode %s payload: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	return nil
}
