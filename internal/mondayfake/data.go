package mondayfake

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Column is a board column: its id, title and type (status, numbers,
// people, board_relation, date, email, phone, checkbox, link, text,
// long_text, dropdown).
type Column struct {
	ID, Title, Type string
}

// Item is an item to create or change with Upsert: Values are by column
// id, in the Go form of the column's type: status, text, long_text,
// dropdown, email, phone, link and date (2006-01-02) take a string;
// numbers a float64 (or nil); checkbox a bool; people and board_relation
// a []string of user or item ids.
type Item struct {
	ID     string
	Name   string
	Values map[string]any
}

// User is an account member.
type User struct {
	ID, Name, Email string
	Enabled         bool // false: deactivated, listed only with non_active: true
	IsGuest         bool
	CreatedAt       time.Time
}

// board is one board's columns and items.
type board struct {
	id, name string
	columns  []Column
	items    map[string]*item
	order    []string // item ids, in creation order
	logs     []logEntry
}

type item struct {
	id, name, state  string
	created, updated time.Time
	creator          string
	cells            map[string]cell
}

// cell is an item's value in a column: the ColumnValue fields and the
// typed fields of its implementation.
type cell struct {
	text  any // string or nil
	value any // string (JSON) or nil
	typed map[string]any
}

type logEntry struct {
	id, event, userID string
	at                time.Time
	data              string
}

// doneLabels are the status labels the fake marks is_done.
var doneLabels = []string{"Done", "Won", "Lost"}

// AddBoard creates (or replaces) a board with its columns.
func (s *Server) AddBoard(id, name string, columns []Column) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.boards[id] = &board{id: id, name: name, columns: slices.Clone(columns), items: map[string]*item{}}
}

// AddUser adds or replaces an account member.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.CreatedAt.IsZero() {
		u.CreatedAt = s.opts.Now().UTC().Truncate(time.Second)
	}
	s.users[u.ID] = u
}

// Upsert creates an item on a board, or changes its name and the values
// given; its updated_at becomes Now.
func (s *Server) Upsert(boardID string, it Item) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.upsertLocked(boardID, it)
}

func (s *Server) upsertLocked(boardID string, it Item) error {
	b := s.boards[boardID]
	if b == nil {
		return fmt.Errorf("mondayfake: no board %s", boardID)
	}
	now := s.opts.Now().UTC().Truncate(time.Second)
	x := b.items[it.ID]
	if x == nil {
		if it.ID == "" {
			s.itemSeq++
			it.ID = strconv.Itoa(9000000000 + s.itemSeq)
		}
		x = &item{id: it.ID, state: "active", created: now, creator: s.firstUser(), cells: map[string]cell{}}
		b.items[it.ID] = x
		b.order = append(b.order, it.ID)
		s.logLocked(b, "create_pulse", x, now)
	}
	if it.Name != "" {
		x.name = it.Name
	}
	for id, v := range it.Values {
		col, ok := b.column(id)
		if !ok {
			return fmt.Errorf("mondayfake: board %s has no column %s", boardID, id)
		}
		c, err := s.makeCell(col, v, now)
		if err != nil {
			return fmt.Errorf("mondayfake: item %s column %s: %w", x.id, id, err)
		}
		x.cells[id] = c
	}
	x.updated = now
	return nil
}

// Delete deletes an item (state deleted; items_page no longer lists it)
// and logs a delete_pulse event on its board.
func (s *Server) Delete(boardID, id string) error {
	return s.retire(boardID, id, "deleted", "delete_pulse")
}

// Archive archives an item and logs an archive_pulse event.
func (s *Server) Archive(boardID, id string) error {
	return s.retire(boardID, id, "archived", "archive_pulse")
}

// Purge removes an item with no activity-log entry: a delete older than
// the log's retention, or one the token's user cannot see in the logs.
func (s *Server) Purge(boardID, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.boards[boardID]
	if b == nil || b.items[id] == nil {
		return fmt.Errorf("mondayfake: no item %s on board %s", id, boardID)
	}
	delete(b.items, id)
	b.order = slices.DeleteFunc(b.order, func(x string) bool { return x == id })
	return nil
}

func (s *Server) retire(boardID, id, state, event string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.boards[boardID]
	if b == nil || b.items[id] == nil {
		return fmt.Errorf("mondayfake: no item %s on board %s", id, boardID)
	}
	x := b.items[id]
	now := s.opts.Now().UTC()
	x.state, x.updated = state, now.Truncate(time.Second)
	s.logLocked(b, event, x, now)
	return nil
}

// logLocked appends an activity log entry about x.
func (s *Server) logLocked(b *board, event string, x *item, at time.Time) {
	s.logSeq++
	data, _ := json.Marshal(map[string]any{"board_id": json.Number(b.id), "group_id": "topics", "pulse_id": json.Number(x.id), "pulse_name": x.name})
	b.logs = append(b.logs, logEntry{
		id:    fmt.Sprintf("8f3f0a52-1111-4e7b-9a53-%012d", s.logSeq),
		event: event, userID: s.firstUser(), at: at, data: string(data),
	})
}

func (s *Server) firstUser() string {
	ids := make([]string, 0, len(s.users))
	for id := range s.users {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

func (b *board) column(id string) (Column, bool) {
	for _, c := range b.columns {
		if c.ID == id {
			return c, true
		}
	}
	return Column{}, false
}

// makeCell builds a column value as monday renders it: text, the raw
// value JSON, and the typed fields.
func (s *Server) makeCell(col Column, v any, now time.Time) (cell, error) {
	if v == nil {
		return cell{typed: map[string]any{}}, nil
	}
	changed := now.Format(time.RFC3339)
	str := func() (string, error) {
		x, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("want a string for a %s column, got %T", col.Type, v)
		}
		return x, nil
	}
	ids := func() ([]string, error) {
		x, ok := v.([]string)
		if !ok {
			return nil, fmt.Errorf("want a []string for a %s column, got %T", col.Type, v)
		}
		return x, nil
	}
	raw := func(m map[string]any) string { b, _ := json.Marshal(m); return string(b) }
	switch col.Type {
	case "status":
		label, err := str()
		if err != nil {
			return cell{}, err
		}
		idx := statusIndex(label)
		return cell{text: label, value: raw(map[string]any{"index": idx, "post_id": nil, "changed_at": changed}),
			typed: map[string]any{"label": label, "index": idx, "is_done": slices.Contains(doneLabels, label), "updated_at": changed}}, nil
	case "numbers":
		f, ok := v.(float64)
		if !ok {
			return cell{}, fmt.Errorf("want a float64 for a numbers column, got %T", v)
		}
		t := strconv.FormatFloat(f, 'f', -1, 64)
		return cell{text: t, value: strconv.Quote(t), typed: map[string]any{"number": f, "symbol": "€", "direction": "left"}}, nil
	case "people":
		list, err := ids()
		if err != nil {
			return cell{}, err
		}
		var pts, rawPts []any
		var names []string
		for _, id := range list {
			pts = append(pts, map[string]any{"id": id, "kind": "person"})
			n, _ := strconv.ParseInt(id, 10, 64)
			rawPts = append(rawPts, map[string]any{"id": n, "kind": "person"})
			names = append(names, s.users[id].Name)
		}
		return cell{text: strings.Join(names, ", "), value: raw(map[string]any{"personsAndTeams": rawPts, "changed_at": changed}),
			typed: map[string]any{"persons_and_teams": pts, "updated_at": changed}}, nil
	case "board_relation":
		list, err := ids()
		if err != nil {
			return cell{}, err
		}
		var linked []any
		for _, id := range list {
			n, _ := strconv.ParseInt(id, 10, 64)
			linked = append(linked, map[string]any{"linkedPulseId": n})
		}
		return cell{text: nil, value: raw(map[string]any{"linkedPulseIds": linked}),
			typed: map[string]any{"linked_item_ids": slices.Clone(list), "display_value": ""}}, nil
	case "date":
		d, err := str()
		if err != nil {
			return cell{}, err
		}
		return cell{text: d, value: raw(map[string]any{"date": d, "icon": nil, "changed_at": changed}),
			typed: map[string]any{"date": d, "time": nil, "updated_at": changed}}, nil
	case "email":
		e, err := str()
		if err != nil {
			return cell{}, err
		}
		return cell{text: e, value: raw(map[string]any{"email": e, "text": e, "changed_at": changed}),
			typed: map[string]any{"email": e, "label": e, "updated_at": changed}}, nil
	case "phone":
		p, err := str()
		if err != nil {
			return cell{}, err
		}
		return cell{text: p, value: raw(map[string]any{"phone": p, "countryShortName": "FR", "changed_at": changed}),
			typed: map[string]any{"phone": p, "country_short_name": "FR", "updated_at": changed}}, nil
	case "checkbox":
		b, ok := v.(bool)
		if !ok {
			return cell{}, fmt.Errorf("want a bool for a checkbox column, got %T", v)
		}
		if !b {
			return cell{text: "", value: nil, typed: map[string]any{"checked": false}}, nil
		}
		return cell{text: "v", value: raw(map[string]any{"checked": "true", "changed_at": changed}), typed: map[string]any{"checked": true, "updated_at": changed}}, nil
	case "link":
		u, err := str()
		if err != nil {
			return cell{}, err
		}
		return cell{text: u + " - " + u, value: raw(map[string]any{"url": u, "text": u, "changed_at": changed}),
			typed: map[string]any{"url": u, "url_text": u, "updated_at": changed}}, nil
	default: // text, long_text, dropdown and the rest: text only
		t, err := str()
		if err != nil {
			return cell{}, err
		}
		return cell{text: t, value: strconv.Quote(t), typed: map[string]any{}}, nil
	}
}

// statusIndex is the index of a status label in the CRM templates'
// default settings.
func statusIndex(label string) int {
	for i, l := range []string{"Proposal", "Won", "Lost", "Negotiation", "Qualified", "Customer", "Prospect", "Former"} {
		if l == label {
			return i
		}
	}
	return 5
}
