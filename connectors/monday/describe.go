package monday

import (
	"context"
	"fmt"
	"maps"
	"slices"
)

// BoardColumns is a configured board with its columns, for writing the
// column mapping.
type BoardColumns struct {
	Role    string   `json:"role"` // accounts, contacts or deals
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Columns []Column `json:"columns"`
}

// Column is a board column: id, title, type, and the role the source
// maps it to ("" when unmapped).
type Column struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Type     string `json:"type"`
	MappedAs string `json:"mapped_as,omitempty"`
}

// boardJSON is a board as describeQuery selects it.
type boardJSON struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Columns []Column `json:"columns"`
}

const describeQuery = `query ($boards: [ID!]) { ` + complexityField +
	`boards(ids: $boards) { id name columns { id title type } } }`

// Describe reads the columns of the three configured boards (one call).
func (c *Connector) Describe(ctx context.Context) ([]BoardColumns, error) {
	ids := make([]string, len(c.boards))
	for i, d := range c.boards {
		ids[i] = d.id
	}
	var out struct {
		Complexity *complexity `json:"complexity"`
		Boards     []boardJSON `json:"boards"`
	}
	if err := c.query(ctx, describeQuery, map[string]any{"boards": slices.Compact(slices.Clone(ids))}, &out); err != nil {
		return nil, fmt.Errorf("monday: describe boards: %w", err)
	}
	c.note(out.Complexity)
	var res []BoardColumns
	for _, d := range c.boards {
		i := slices.IndexFunc(out.Boards, func(b boardJSON) bool { return b.ID == d.id })
		if i < 0 {
			return nil, fmt.Errorf("monday: describe boards: no board %s (%s): it was deleted, or the token's user cannot see it", d.id, d.key)
		}
		roles := c.roles(d)
		b := BoardColumns{Role: d.key, ID: d.id, Name: out.Boards[i].Name}
		for _, col := range out.Boards[i].Columns {
			col.MappedAs = roles[col.ID]
			b.Columns = append(b.Columns, col)
		}
		res = append(res, b)
	}
	return res, nil
}

// roles maps a board's column ids to the roles the source gives them.
func (c *Connector) roles(d *boardDef) map[string]string {
	out := map[string]string{}
	for _, role := range slices.Sorted(maps.Keys(d.cols)) {
		if col := d.cols[role]; col != "" {
			out[col] = role
		}
	}
	m := c.mapping
	add := func(col, role string) {
		if col != "" && out[col] == "" {
			out[col] = role
		}
	}
	switch d.key {
	case "accounts":
		add(m.Lifecycle.Field, "lifecycle")
		add(m.PrimaryContact.Field, "primary_contact")
		add(m.Language.Account, "language")
		for _, f := range m.LastActivity {
			add(f, "last_activity_at")
		}
		for _, f := range m.Extra {
			add(f, "extra")
		}
	case "contacts":
		add(m.Language.Contact, "language")
		add(m.PrimaryContact.Property, "primary_contact")
	}
	return out
}
