package monday

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// Watermark keys: "accounts.since" (and contacts, deals) is when the
// last complete read of the board started, less a few minutes for the
// clocks; "logs.since" is where the next activity-log read starts;
// "full.at" is when the last full read started.
const (
	suffixSince = ".since"
	keyLogs     = "logs.since"
	keyFull     = "full.at"
	// keyFullStart marks a full read under way: when it started.
	keyFullStart = "full.start"
)

// Pull reads the users, then the Accounts, Contacts and Deals boards
// (everything on the first pull and every FullEvery, else the items
// updated since the last pull), then the deletions the activity logs
// record, and calls fn with a page per items page. It returns fn's
// error, a *connectors.StopError when the daily call limit is spent, or
// an error wrapping connectors.ErrAuth when monday refuses the token or
// a board.
func (c *Connector) Pull(ctx context.Context, from connectors.Watermark, fn connectors.PageFunc) error {
	wm := from.Clone()
	for k, v := range wm {
		if _, err := time.Parse(time.RFC3339, v); err != nil {
			return fmt.Errorf("monday: watermark %s: %q is not a time; reset the source's watermark", k, v)
		}
	}
	p := &puller{c: c, Pager: connectors.NewPager(wm, from, fn), start: c.now()}
	if err := p.startFull(ctx); err != nil {
		return err
	}
	if err := p.users(ctx); err != nil {
		return err
	}
	for _, d := range c.boards {
		if err := p.board(ctx, d); err != nil {
			return err
		}
	}
	if !p.full {
		if err := p.deletions(ctx); err != nil {
			return err
		}
	}
	p.Set(keyLogs, p.start.Add(-skew).Format(time.RFC3339))
	if p.full {
		p.Set(keyFull, p.fullStart.Format(time.RFC3339))
		p.Set(keyFullStart, "")
	}
	return p.Emit(ctx, connectors.Page{})
}

// startFull decides whether this pull reads every board: it resumes a
// full read an earlier pull left unfinished (keeping the boards it
// completed and its sweep), or starts one on the first pull and every
// FullEvery, opening a sweep.
func (p *puller) startFull(ctx context.Context) error {
	c := p.c
	if v := p.WM[keyFullStart]; v != "" {
		p.full = true
		p.fullStart, _ = time.Parse(time.RFC3339, v)
		return nil
	}
	if !p.dueFull() {
		return nil
	}
	p.full, p.fullStart = true, p.start
	for _, d := range c.boards {
		p.Set(d.key+suffixSince, "")
	}
	p.Set(keyFullStart, p.start.Format(time.RFC3339))
	{
		if c.opts.BeginSweep != nil {
			if err := c.opts.BeginSweep(ctx, p.start); err != nil {
				return fmt.Errorf("monday: begin sweep: %w", err)
			}
		}
	}
	return nil
}

// puller is one Pull.
type puller struct {
	c                *Connector
	connectors.Pager // the watermark reached and the pages' hand-over
	start            time.Time
	full             bool
	// fullStart is when the full read under way started.
	fullStart time.Time
}

// dueFull reports whether this pull reads every board in full.
func (p *puller) dueFull() bool {
	at, ok := p.WM[keyFull]
	if !ok {
		return true
	}
	t, _ := time.Parse(time.RFC3339, at)
	return p.c.opts.FullEvery > 0 && !p.start.Before(t.Add(p.c.opts.FullEvery))
}

// usersPage is the most users asked for at once.
const usersPage = 1000

const usersQuery = `query ($page: Int!) { ` + complexityField +
	`users(limit: 1000, page: $page, non_active: true) { id name email enabled is_guest } }`

// users reads every user, deactivated ones included, as owners.
func (p *puller) users(ctx context.Context) error {
	var page connectors.Page
	for n := 1; ; n++ {
		var out struct {
			Complexity *complexity `json:"complexity"`
			Users      []struct {
				ID    string `json:"id"`
				Name  string `json:"name"`
				Email string `json:"email"`
			} `json:"users"`
		}
		if err := p.c.query(ctx, usersQuery, map[string]any{"page": n}, &out); err != nil {
			return fmt.Errorf("monday: users: %w", err)
		}
		p.c.note(out.Complexity)
		for _, u := range out.Users {
			if u.ID == "" {
				continue
			}
			page.Owners = append(page.Owners, model.Owner{Ref: model.NewRef(p.c.opts.Source, u.ID), Name: u.Name, Email: u.Email})
		}
		if len(out.Users) < usersPage {
			break
		}
	}
	return p.Emit(ctx, page)
}

const firstPageQuery = `query ($board: [ID!], $cols: [String!], $limit: Int!, $rules: [ItemsQueryRule!]) { ` + complexityField +
	`boards(ids: $board) { id items_page(limit: $limit, query_params: {rules: $rules}) { cursor items { ` + itemFields + ` } } } }`

const firstPageFullQuery = `query ($board: [ID!], $cols: [String!], $limit: Int!) { ` + complexityField +
	`boards(ids: $board) { id items_page(limit: $limit) { cursor items { ` + itemFields + ` } } } }`

const nextPageQuery = `query ($cursor: String!, $cols: [String!], $limit: Int!) { ` + complexityField +
	`next_items_page(limit: $limit, cursor: $cursor) { cursor items { ` + itemFields + ` } } }`

// itemsPage is an items_page or next_items_page answer.
type itemsPage struct {
	Cursor *string           `json:"cursor"`
	Items  []json.RawMessage `json:"items"`
}

// board reads one board: from its first page, again on an expired
// cursor (skipping what was handed over), and moves its watermark once
// the last page is in.
func (p *puller) board(ctx context.Context, d *boardDef) error {
	since, incremental := time.Time{}, false
	if v := p.WM[d.key+suffixSince]; v != "" {
		since, _ = time.Parse(time.RFC3339, v)
		if p.full && !since.Before(p.fullStart.Add(-skew)) {
			return nil // read in full already by this full read
		}
		incremental = !p.full
	}
	start := p.c.now()
	seen := map[string]string{} // item id → updated_at handed over
	for restarts := 0; ; restarts++ {
		err := p.readBoard(ctx, d, since, incremental, seen)
		if !errors.Is(err, errCursorExpired) {
			if err != nil {
				return fmt.Errorf("monday: board %s (%s): %w", d.key, d.id, err)
			}
			break
		}
		if restarts == MaxRestarts {
			return fmt.Errorf("monday: board %s (%s): the cursor expired %d times: the board cannot be read within monday's 60 minutes; map fewer columns or raise the complexity budget: %w", d.key, d.id, restarts+1, err)
		}
		p.c.logger.Warn("the cursor expired; reading the board again from its first page", "board", d.key, "handed_over", len(seen))
	}
	p.Set(d.key+suffixSince, start.Add(-skew).Format(time.RFC3339))
	return p.Emit(ctx, connectors.Page{})
}

// readBoard pages through a board once.
func (p *puller) readBoard(ctx context.Context, d *boardDef, since time.Time, incremental bool, seen map[string]string) error {
	vars := map[string]any{"board": []string{d.id}, "cols": d.ids, "limit": p.c.opts.PageSize}
	q := firstPageFullQuery
	if incremental {
		q = firstPageQuery
		vars["rules"] = []any{map[string]any{
			"column_id": "__last_updated__", "compare_attribute": "UPDATED_AT", "operator": "greater_than_or_equals",
			"compare_value": []string{"EXACT", since.Add(-Overlap).UTC().Format(time.DateOnly)},
		}}
	}
	var first struct {
		Complexity *complexity `json:"complexity"`
		Boards     []struct {
			ID        string    `json:"id"`
			ItemsPage itemsPage `json:"items_page"`
		} `json:"boards"`
	}
	if err := p.c.query(ctx, q, vars, &first); err != nil {
		return err
	}
	p.c.note(first.Complexity)
	if len(first.Boards) == 0 {
		return fmt.Errorf("no board %s: it was deleted, or the token's user cannot see it: %w", d.id, connectors.ErrAuth)
	}
	page := first.Boards[0].ItemsPage
	keep := func(it *itemJSON) bool {
		if seen[it.ID] == it.UpdatedAt && it.ID != "" {
			return false
		}
		if incremental {
			if t, err := time.Parse(time.RFC3339, it.UpdatedAt); err == nil && t.Before(since) {
				return false
			}
		}
		seen[it.ID] = it.UpdatedAt
		return true
	}
	for {
		out := connectors.Page{}
		dec := &decoder{c: p.c, at: p.c.now()}
		dec.decode(&out, d, page.Items, keep)
		if err := p.Emit(ctx, out); err != nil {
			return err
		}
		if page.Cursor == nil || *page.Cursor == "" {
			return nil
		}
		var next struct {
			Complexity    *complexity `json:"complexity"`
			NextItemsPage itemsPage   `json:"next_items_page"`
		}
		if err := p.c.query(ctx, nextPageQuery, map[string]any{"cursor": *page.Cursor, "cols": d.ids, "limit": p.c.opts.PageSize}, &next); err != nil {
			return err
		}
		p.c.note(next.Complexity)
		page = next.NextItemsPage
	}
}

// logsPage is the most activity-log entries asked for at once.
const logsPage = 1000

const logsQuery = `query ($boards: [ID!], $from: ISO8601DateTime, $page: Int) { ` + complexityField +
	`boards(ids: $boards) { id activity_logs(from: $from, limit: 1000, page: $page) { id event created_at data } } }`

// deletionEvents are the activity-log events that take an item off its
// board.
var deletionEvents = map[string]bool{"delete_pulse": true, "archive_pulse": true}

// deletions reads the three boards' activity logs since the last pull
// and hands the deleted and archived items over.
func (p *puller) deletions(ctx context.Context) error {
	from := p.WM[keyLogs]
	if from == "" {
		return nil
	}
	kinds := map[string]string{}
	var ids []string
	for _, d := range p.c.boards {
		kinds[d.id] = d.kind
		ids = append(ids, d.id)
	}
	var page connectors.Page
	seen := map[string]bool{}
	for n := 1; len(ids) > 0; n++ {
		var out struct {
			Complexity *complexity `json:"complexity"`
			Boards     []struct {
				ID   string `json:"id"`
				Logs []struct {
					Event string `json:"event"`
					Data  string `json:"data"`
				} `json:"activity_logs"`
			} `json:"boards"`
		}
		if err := p.c.query(ctx, logsQuery, map[string]any{"boards": ids, "from": from, "page": n}, &out); err != nil {
			return fmt.Errorf("monday: activity logs: %w", err)
		}
		p.c.note(out.Complexity)
		ids = nil
		for _, b := range out.Boards {
			for _, e := range b.Logs {
				if !deletionEvents[e.Event] {
					continue
				}
				var data struct {
					PulseID json.Number `json:"pulse_id"`
				}
				if err := json.Unmarshal([]byte(e.Data), &data); err != nil || data.PulseID == "" {
					p.c.logger.Warn("an activity log entry names no item", "event", e.Event, "board", b.ID)
					continue
				}
				if _, err := strconv.ParseInt(data.PulseID.String(), 10, 64); err != nil || seen[data.PulseID.String()] {
					continue
				}
				seen[data.PulseID.String()] = true
				page.Deleted = append(page.Deleted, model.Deletion{Entity: kinds[b.ID], ID: model.ID(p.c.opts.Source, data.PulseID.String())})
			}
			if len(b.Logs) == logsPage {
				ids = append(ids, b.ID)
			}
		}
	}
	return p.Emit(ctx, page)
}
