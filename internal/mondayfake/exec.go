package mondayfake

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/internal/faults"
)

// cursor is an open items_page read: the items it covers, in order.
type cursor struct {
	board   string
	ids     []string
	created time.Time
}

// listSize is how many elements a list field may return, for complexity.
func listSize(f *field, vars map[string]any) int {
	n := func(name string, def int) int {
		switch v := f.arg(name, vars).(type) {
		case float64:
			return int(v)
		case []any:
			return len(v)
		}
		return def
	}
	switch f.name {
	case "items_page", "next_items_page", "activity_logs":
		return n("limit", 25)
	case "boards":
		if ids := n("ids", 0); ids > 0 {
			return ids
		}
		return n("limit", 25)
	case "items": // root items(ids); under items_page the page's limit counts
		return n("ids", n("limit", 1))
	case "users":
		return n("limit", 200)
	case "column_values", "columns":
		return n("ids", 10)
	case "persons_and_teams", "groups":
		return 5
	}
	return 1
}

// complexityOf approximates monday's complexity: a field with a
// selection costs its list size times one plus what is selected under
// it; scalars are free, and of the fragments on a column value only the
// dearest counts (a value has one type).
func complexityOf(sel []selection, vars map[string]any) int {
	total, frag := 0, 0
	for _, s := range sel {
		switch {
		case s.field == nil:
			frag = max(frag, complexityOf(s.fragSel, vars))
		case s.field.name == "complexity" || len(s.field.sel) == 0:
		default:
			total += listSize(s.field, vars) * (1 + complexityOf(s.field.sel, vars))
		}
	}
	return total + frag
}

// execute charges the query's complexity and answers it.
func (s *Server) execute(w http.ResponseWriter, op *operation, vars map[string]any, entry *Request) {
	cost := 1 + complexityOf(op.sel, vars)
	s.mu.Lock()
	now := s.opts.Now()
	if s.windowStart.IsZero() || !now.Before(s.windowStart.Add(s.opts.Window)) {
		s.windowStart, s.spent = now, 0
	}
	reset := s.windowStart.Add(s.opts.Window).Sub(now)
	before := s.opts.Budget - s.spent
	switch {
	case cost > MaxQueryComplexity:
		s.mu.Unlock()
		s.write(w, http.StatusOK, answer{Errors: []gqlError{{
			Message:    fmt.Sprintf("Query has complexity of %d, which exceeds max complexity of %d", cost, MaxQueryComplexity),
			Extensions: map[string]any{"code": CodeMaxComplexity, "status_code": 400}}}}, entry)
		return
	case cost > before:
		s.budgetErrs++
		s.mu.Unlock()
		w.Header().Set("Retry-After", s.seconds(reset))
		s.write(w, http.StatusTooManyRequests, answer{Errors: []gqlError{{Message: "Complexity budget exhausted", Extensions: map[string]any{
			"code": CodeBudgetExhausted, "complexity": cost, "complexity_budget_left": before,
			"complexity_budget_limit": s.opts.Budget, "retry_in_seconds": s.secondsInt(reset), "status_code": 429}}}}, entry)
		return
	}
	s.spent += cost
	s.totalSpent += cost
	entry.Cost = cost
	data, x := func() (map[string]any, *exec) {
		defer s.mu.Unlock() // a resolver that panics must not leave the fake locked
		x := &exec{s: s, vars: vars, now: now}
		data := map[string]any{}
		for _, sel := range op.sel {
			f := sel.field
			switch f.name {
			case "complexity":
				data["complexity"] = project(f.sel, map[string]any{"before": before, "query": cost, "after": before - cost,
					"reset_in_x_seconds": s.secondsInt(reset)})
			case "boards":
				data["boards"] = x.boards(f)
			case "next_items_page":
				data["next_items_page"] = x.itemsPage(f, nil)
			case "users":
				data["users"] = x.users(f)
			case "items":
				data["items"] = x.items(f)
			case "me":
				data["me"] = project(f.sel, userFields(s.users[s.firstUser()]))
			}
		}
		return data, x
	}()
	a := answer{Data: data, Errors: x.errs}
	if len(x.errs) > 0 && x.wipe {
		a.Data = []any{}
	}
	s.write(w, http.StatusOK, a, entry)
}

// exec answers one query; it runs with the Server's lock held.
type exec struct {
	s    *Server
	vars map[string]any
	now  time.Time
	errs []gqlError
	wipe bool // an authorization error: no data at all
}

func (x *exec) fail(f *field, code, msg string, status int, wipe bool) {
	x.errs = append(x.errs, gqlError{Message: msg, Locations: []location{{Line: f.line, Column: f.col}}, Path: []any{f.name},
		Extensions: map[string]any{"code": code, "status_code": status, "error_data": map[string]any{}}})
	x.wipe = x.wipe || wipe
}

// project keeps the selected scalar fields of values.
func project(sel []selection, values map[string]any) map[string]any {
	out := make(map[string]any, len(sel))
	for _, s := range sel {
		if s.field != nil {
			out[s.field.name] = values[s.field.name]
		}
	}
	return out
}

func (x *exec) intArg(f *field, name string, def int) int {
	if v, ok := f.arg(name, x.vars).(float64); ok {
		return int(v)
	}
	return def
}

func (x *exec) idsArg(f *field, name string) ([]string, bool) {
	raw, ok := f.arg(name, x.vars).([]any)
	if !ok {
		if one := f.arg(name, x.vars); one != nil {
			return []string{fmt.Sprint(one)}, true
		}
		return nil, false
	}
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		switch t := v.(type) {
		case float64:
			out = append(out, strconv.FormatInt(int64(t), 10))
		default:
			out = append(out, fmt.Sprint(t))
		}
	}
	return out, true
}

func (x *exec) boards(f *field) []any {
	ids, ok := x.idsArg(f, "ids")
	if !ok {
		for id := range x.s.boards {
			ids = append(ids, id)
		}
		slices.Sort(ids)
	}
	out := []any{}
	for _, id := range ids {
		if faults.IsDenied(&x.s.deniedBoards, id) {
			x.fail(f, CodeUnauthorized, "User unauthorized to perform action", http.StatusForbidden, true)
			return out
		}
		b := x.s.boards[id]
		if b == nil {
			continue
		}
		m := map[string]any{}
		for _, sel := range f.sel {
			g := sel.field
			switch g.name {
			case "id":
				m["id"] = b.id
			case "name":
				m["name"] = b.name
			case "state":
				m["state"] = "active"
			case "board_kind":
				m["board_kind"] = "public"
			case "columns":
				m["columns"] = x.columns(g, b)
			case "items_page":
				m["items_page"] = x.itemsPage(g, b)
			case "activity_logs":
				m["activity_logs"] = x.activityLogs(g, b)
			default:
				m[g.name] = nil
			}
		}
		out = append(out, m)
	}
	return out
}

func (x *exec) columns(f *field, b *board) []any {
	ids, filter := x.idsArg(f, "ids")
	out := []any{}
	for _, c := range append([]Column{{ID: "name", Title: "Name", Type: "name"}}, b.columns...) {
		if filter && !slices.Contains(ids, c.ID) {
			continue
		}
		out = append(out, project(f.sel, map[string]any{"id": c.ID, "title": c.Title, "type": c.Type,
			"settings_str": "{}", "description": nil, "archived": false, "width": nil}))
	}
	return out
}

// itemsPage answers items_page on b, or next_items_page (b nil).
func (x *exec) itemsPage(f *field, b *board) any {
	limit := x.intArg(f, "limit", 25)
	if limit < 1 || limit > MaxLimit {
		x.fail(f, CodeInvalidArgument, fmt.Sprintf("limit must be between 1 and %d", MaxLimit), http.StatusBadRequest, false)
		return nil
	}
	var c *cursor
	off := 0
	key, _ := f.arg("cursor", x.vars).(string)
	switch {
	case key != "":
		base, at, _ := strings.Cut(key, "_")
		c = x.s.cursors[base]
		n, err := strconv.Atoi(at)
		if c == nil || err != nil || n < 0 || n > len(c.ids) || !x.now.Before(c.created.Add(x.s.opts.CursorLifetime)) {
			delete(x.s.cursors, base)
			x.errs = append(x.errs, gqlError{Message: "The cursor provided for pagination has expired. Please query the first page again.",
				Path: []any{f.name}, Extensions: map[string]any{"code": CodeCursorExpired, "status_code": 200, "error_data": map[string]any{}}})
			return nil
		}
		b, key, off = x.s.boards[c.board], base, n
	case b == nil:
		return nil // next_items_page requires a cursor: refused by validation
	default:
		ids, err := x.matching(f, b)
		if err != "" {
			x.fail(f, CodeInvalidArgument, err, http.StatusBadRequest, false)
			return nil
		}
		x.s.cursorSeq++
		key = fmt.Sprintf("MSw5NzI4MDA5MDAs%08d", x.s.cursorSeq)
		c = &cursor{board: b.id, ids: ids, created: x.now}
		x.s.cursors[key] = c
	}
	// A cursor names a position: asking for it again answers the same
	// page (a retry after a lost answer loses nothing).
	var page []*item
	for off < len(c.ids) && len(page) < limit {
		if it := b.items[c.ids[off]]; it != nil && it.state == "active" {
			page = append(page, it)
		}
		off++
	}
	var next any = key + "_" + strconv.Itoa(off)
	if off == len(c.ids) {
		next = nil
	}
	out := map[string]any{}
	for _, sel := range f.sel {
		switch sel.field.name {
		case "cursor":
			out["cursor"] = next
		case "items":
			list := make([]any, len(page))
			for i, it := range page {
				list[i] = x.item(sel.field, b, it)
			}
			out["items"] = list
		}
	}
	return out
}

// matching returns the ids of b's active items that query_params
// selects, or why it cannot.
func (x *exec) matching(f *field, b *board) ([]string, string) {
	var since string
	if qp, ok := f.arg("query_params", x.vars).(map[string]any); ok {
		for k, v := range qp {
			if k != "rules" {
				return nil, "mondayfake serves query_params rules only, not " + k
			}
			rules, _ := v.([]any)
			for _, r := range rules {
				d, why := lastUpdatedRule(r)
				if why != "" {
					return nil, why
				}
				since = max(since, d)
			}
		}
	}
	var ids []string
	for _, id := range b.order {
		it := b.items[id]
		if it != nil && it.state == "active" && it.updated.UTC().Format(time.DateOnly) >= since {
			ids = append(ids, id)
		}
	}
	return ids, ""
}

// lastUpdatedRule reads the one rule the fake serves: items last updated
// on or after a day.
func lastUpdatedRule(r any) (string, string) {
	m, _ := r.(map[string]any)
	vals, _ := m["compare_value"].([]any)
	if m["column_id"] != "__last_updated__" || m["compare_attribute"] != "UPDATED_AT" || m["operator"] != "greater_than_or_equals" ||
		len(vals) != 2 || vals[0] != "EXACT" {
		return "", fmt.Sprintf("mondayfake serves only the rule {column_id: \"__last_updated__\", compare_attribute: \"UPDATED_AT\", compare_value: [\"EXACT\", \"YYYY-MM-DD\"], operator: greater_than_or_equals}, got %v", r)
	}
	day, _ := vals[1].(string)
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return "", fmt.Sprintf("Invalid date %q in compare_value", day)
	}
	return day, ""
}

func (x *exec) item(f *field, b *board, it *item) map[string]any {
	out := map[string]any{}
	for _, sel := range f.sel {
		g := sel.field
		switch g.name {
		case "id":
			out["id"] = it.id
		case "name":
			out["name"] = it.name
		case "state":
			out["state"] = it.state
		case "created_at":
			out["created_at"] = it.created.UTC().Format(time.RFC3339)
		case "updated_at":
			out["updated_at"] = it.updated.UTC().Format(time.RFC3339)
		case "creator_id":
			out["creator_id"] = it.creator
		case "url":
			out["url"] = "https://fake.monday.com/boards/" + b.id + "/pulses/" + it.id
		case "group":
			out["group"] = project(g.sel, map[string]any{"id": "topics", "title": "Group Title", "color": "#579bfc", "position": "65536"})
		case "column_values":
			out["column_values"] = x.columnValues(g, b, it)
		}
	}
	return out
}

func (x *exec) columnValues(f *field, b *board, it *item) []any {
	ids, filter := x.idsArg(f, "ids")
	out := []any{}
	for _, col := range b.columns {
		if filter && !slices.Contains(ids, col.ID) {
			continue
		}
		c := it.cells[col.ID]
		base := map[string]any{"id": col.ID, "type": col.Type, "text": c.text, "value": c.value}
		if c.typed == nil && col.Type != "board_relation" {
			base["text"] = ""
		}
		m := map[string]any{}
		for _, sel := range f.sel {
			if sel.field != nil {
				m[sel.field.name] = base[sel.field.name]
				continue
			}
			if valueTypes[sel.fragType] != col.Type {
				continue
			}
			for _, fs := range sel.fragSel {
				if v, ok := base[fs.field.name]; ok {
					m[fs.field.name] = v
					continue
				}
				v, ok := c.typed[fs.field.name]
				switch {
				case fs.field.name == "persons_and_teams" && ok:
					var list []any
					for _, p := range v.([]any) {
						list = append(list, project(fs.field.sel, p.(map[string]any)))
					}
					m[fs.field.name] = list
				case fs.field.name == "persons_and_teams" || fs.field.name == "linked_item_ids":
					if !ok {
						v = []any{}
					}
					m[fs.field.name] = v
				default:
					m[fs.field.name] = v
				}
			}
		}
		out = append(out, m)
	}
	return out
}

func userFields(u User) map[string]any {
	return map[string]any{"id": u.ID, "name": u.Name, "email": u.Email, "enabled": u.Enabled, "is_guest": u.IsGuest,
		"is_pending": false, "created_at": u.CreatedAt.UTC().Format(time.RFC3339), "title": nil}
}

func (x *exec) users(f *field) []any {
	limit, page := x.intArg(f, "limit", 200), max(x.intArg(f, "page", 1), 1)
	nonActive, _ := f.arg("non_active", x.vars).(bool)
	want, filter := x.idsArg(f, "ids")
	var ids []string
	for id, u := range x.s.users {
		if (u.Enabled || nonActive) && (!filter || slices.Contains(want, id)) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := []any{}
	for i := (page - 1) * limit; i >= 0 && i < len(ids) && i < page*limit; i++ {
		out = append(out, project(f.sel, userFields(x.s.users[ids[i]])))
	}
	return out
}

func (x *exec) items(f *field) []any {
	ids, _ := x.idsArg(f, "ids")
	if len(ids) > 100 {
		x.fail(f, CodeInvalidArgument, "ids can hold at most 100 items", http.StatusBadRequest, false)
		return nil
	}
	exclude, ok := f.arg("exclude_nonactive", x.vars).(bool)
	exclude = exclude || !ok
	out := []any{}
	bids := make([]string, 0, len(x.s.boards))
	for id := range x.s.boards {
		bids = append(bids, id)
	}
	slices.Sort(bids)
	for _, id := range ids {
		for _, bid := range bids {
			b := x.s.boards[bid]
			if it := b.items[id]; it != nil && (!exclude || it.state == "active") {
				out = append(out, x.item(f, b, it))
			}
		}
	}
	return out
}

// activityLogs answers a board's activity_logs, newest first: created_at
// is a 17-digit string, the time in 100-nanosecond units since the epoch.
func (x *exec) activityLogs(f *field, b *board) []any {
	limit, page := x.intArg(f, "limit", 25), max(x.intArg(f, "page", 1), 1)
	var from time.Time
	if v, ok := f.arg("from", x.vars).(string); ok && v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			x.fail(f, CodeInvalidArgument, fmt.Sprintf("Invalid ISO8601DateTime %q for from", v), http.StatusBadRequest, false)
			return nil
		}
		from = t
	}
	var logs []logEntry
	for i := len(b.logs) - 1; i >= 0; i-- {
		if !b.logs[i].at.Before(from) {
			logs = append(logs, b.logs[i])
		}
	}
	out := []any{}
	for i := (page - 1) * limit; i < len(logs) && i < page*limit; i++ {
		e := logs[i]
		out = append(out, project(f.sel, map[string]any{"id": e.id, "event": e.event, "entity": "pulse", "user_id": e.userID,
			"account_id": strconv.Itoa(AccountID), "created_at": strconv.FormatInt(e.at.UnixNano()/100, 10), "data": e.data}))
	}
	return out
}
