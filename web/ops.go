package web

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/web/auth"
)

// OpsData gives the queues and sources page (admins only): how each
// source syncs, how each queue drains, and the tasks that gave up.
type OpsData interface {
	Ops(ctx context.Context) (*Ops, error)
	// ResendDead acts on the archived task id of queue, on an admin's
	// request, and says what it did (see DeadTask.Action).
	ResendDead(ctx context.Context, queue, id string) (string, error)
}

// Ops is the state of the deployment's sources, queues and channels.
type Ops struct {
	Now      time.Time
	Sources  []SourceOps
	Queues   []QueueOps
	Channels []ChannelOps
	// Dead are the archived tasks of every queue, newest first, at most
	// DeadShown per queue.
	Dead []DeadTask
}

// DeadShown is how many archived tasks the page lists per queue.
const DeadShown = 20

// RejectsShown is how many of a source's latest rejects the page lists.
const RejectsShown = 20

// SourceOps is one source as its syncs left it.
type SourceOps struct {
	Name, Type string
	// LastSuccess is the end of its last completed sync; zero: none yet.
	LastSuccess time.Time
	Ready       bool // its first full sync committed
	Stale       bool // longer than its stale_after without a completed sync
	// FullKind is the full sync in progress ("first" or "full"), which
	// holds passes back, since FullSince with Progress records read; ""
	// when none.
	FullKind     string
	FullSince    time.Time
	Progress     int
	Running      time.Time // a sync running (or interrupted) since
	LastError    string
	FailingSince time.Time
	PausedUntil  time.Time // the CRM asked not to be called before (rate limit)
	PauseReason  string
	Accounts     int // accounts stored, as the last pass read them
	RejectsTotal int64
	Rejects      []model.Reject // the latest, newest first
}

// State is the source's state in a word: paused, full sync, failing,
// stale, not ready or ready.
func (s SourceOps) State() string {
	switch {
	case !s.PausedUntil.IsZero():
		return "paused"
	case s.FullKind != "":
		return "full sync in progress"
	case !s.FailingSince.IsZero():
		return "failing"
	case s.Stale:
		return "stale"
	case !s.Ready:
		return "not ready"
	}
	return "ready"
}

// QueueOps is one asynq queue of the deployment.
type QueueOps struct {
	Name                                              string // without the namespace
	Size, Pending, Active, Scheduled, Retry, Archived int
	Latency                                           time.Duration // age of the oldest pending task
	Processed, Failed                                 int           // today (asynq's daily counters, UTC)
	Paused                                            bool
}

// ChannelOps is one channel messages go out on.
type ChannelOps struct {
	Channel string
	Paused  bool // its credentials were refused: deliveries wait
	Reason  string
	Since   time.Time
	Queued  int
}

// DeadTask is an archived task: its retries ran out (or it was archived
// by hand).
type DeadTask struct {
	Queue, ID, Type string
	LastErr         string
	LastFailed      time.Time
	Retried         int
	// Messages counts a delivery task's messages by ledger status (dead:
	// the dead-letter record, never sent again; unknown: may have gone
	// out, resendable).
	Messages map[string]int
	// Action is what Resend does: "run" (the task runs again), "resend"
	// (its messages of unknown outcome are resent, once each) or "" (nothing
	// left to do: every message is recorded).
	Action string
}

// Actions of a dead task.
const (
	DeadRun    = "run"
	DeadResend = "resend"
)

// opsView is the ops page's data.
type opsView struct {
	*Ops
	Done string // what the last resend did
}

// When writes t to the second in UTC, "never" when zero.
func (opsView) When(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

// Ago writes how long before now t was, to the second; "–" when zero.
func (v opsView) Ago(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return v.Now.Sub(t).Round(time.Second).String()
}

// Shown is how many dead tasks are listed per queue.
func (opsView) Shown() int { return DeadShown }

// ops serves the queues and sources page, to admins only.
func (s *Server) ops(w http.ResponseWriter, r *http.Request) {
	if u, _ := auth.UserFrom(r.Context()); !u.Admin {
		forbidden(w, "the queues and sources page is for admins")
		return
	}
	o, err := s.data.Ops(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "ops", page{Title: "Queues and sources", Nav: "ops", Data: opsView{Ops: o, Done: r.URL.Query().Get("done")}})
}

// resend acts on a dead task (POST queue, id, csrf), to admins only, and
// goes back to the page saying what it did.
func (s *Server) resend(w http.ResponseWriter, r *http.Request) {
	if u, _ := auth.UserFrom(r.Context()); !u.Admin {
		forbidden(w, "resending is for admins")
		return
	}
	queue, id := r.PostFormValue("queue"), r.PostFormValue("id")
	if queue == "" || id == "" {
		http.Error(w, "queue and id are required", http.StatusBadRequest)
		return
	}
	did, err := s.data.ResendDead(r.Context(), queue, id)
	if err != nil {
		s.log.Warn("resend failed", "queue", queue, "id", id, "err", err)
		did = "not resent: " + err.Error()
	}
	http.Redirect(w, r, "/ops?"+url.Values{"done": {id + ": " + did}}.Encode(), http.StatusSeeOther)
}
