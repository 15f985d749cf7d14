package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"

	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/connectors/monday"
)

// newMonday builds a monday source's connector; with sw nil (config
// check) no sweep is opened by a full re-read.
func newMonday(s config.Source, sw sweeps, log *slog.Logger) (*monday.Connector, error) {
	opts := monday.Options{
		Source:     s.Name,
		BaseURL:    s.BaseURL,
		APIVersion: s.APIVersion,
		Mapping:    mapping(s.Fields),
		DailyCalls: s.Limits.DailyCalls,
		FullEvery:  s.Limits.FullEvery,
		Logger:     log,
	}
	if s.Auth != nil {
		opts.Token = s.Auth.Token.Reveal()
	}
	if b := s.Boards; b != nil {
		opts.Boards = monday.Boards{Accounts: mondayBoard(b.Accounts), Contacts: mondayBoard(b.Contacts), Deals: mondayBoard(b.Deals)}
	}
	opts.BeginSweep = beginSweep(sw, s.Name)
	return monday.New(opts)
}

func mondayBoard(b *config.MondayBoard) monday.Board {
	if b == nil {
		return monday.Board{}
	}
	return monday.Board{ID: b.ID, Columns: b.Columns, Won: b.Won}
}

// ErrNoDescribe is a source whose type has nothing for `sources
// describe` to list.
var ErrNoDescribe = errors.New("nothing to describe")

// SourceDescription is what `crmsync sources describe` prints: the
// boards of a source with their columns.
type SourceDescription struct {
	Source string                `json:"source"`
	Type   string                `json:"type"`
	Boards []monday.BoardColumns `json:"boards"`
}

// DescribeSource builds the source name from cfg and reads the columns
// of its boards (monday sources: one API call), so that the column
// mapping can be written. Other types return an error wrapping
// ErrNoDescribe.
func DescribeSource(ctx context.Context, cfg *config.Config, name string, log *slog.Logger) (*SourceDescription, error) {
	for _, s := range cfg.Sources {
		if s.Name != name {
			continue
		}
		if s.Type != "monday" {
			return nil, fmt.Errorf("source %s is of type %s: %w (only monday sources map columns by board; see the README for the fields %s takes)", name, s.Type, ErrNoDescribe, s.Type)
		}
		c, err := newMonday(s, nil, log.With("source", s.Name))
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", name, err)
		}
		boards, err := c.Describe(ctx)
		if err != nil {
			return nil, fmt.Errorf("source %s: %w", name, err)
		}
		return &SourceDescription{Source: name, Type: s.Type, Boards: boards}, nil
	}
	return nil, fmt.Errorf("no source named %q in the config", name)
}

// WriteText prints a description as one table per board.
func (d *SourceDescription) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, b := range d.Boards {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintf(tw, "%s board %s (%s)\n", b.Role, b.ID, b.Name)
		fmt.Fprintln(tw, "  COLUMN ID\tTYPE\tTITLE\tMAPPED AS")
		for _, c := range b.Columns {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.ID, c.Type, c.Title, c.MappedAs)
		}
	}
	return tw.Flush()
}

// WriteJSON prints a description as indented JSON.
func (d *SourceDescription) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(d)
}
