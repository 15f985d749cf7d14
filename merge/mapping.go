package merge

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/model"
)

// MappingError is a problem in a mapping file, at a line and column
// (1-based; column 0 when it is about the whole line).
type MappingError struct {
	Line, Column int
	Msg          string
}

func (e *MappingError) Error() string {
	if e.Column == 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d:%d: %s", e.Line, e.Column, e.Msg)
}

// ParseMapping reads a mapping file: a CSV file (comma or semicolon, as a
// spreadsheet saves it) whose header names sources and whose every other
// row is one company, with its id in each source's own CRM in that
// source's column (blank when the source does not have it):
//
//	hubspot,sellsy,legacy
//	9120384,4521,C-0042
//	9120391,,C-0107
//
// It returns each company's internal ids (source:id). sources are the
// configured source names; a column naming another, an id listed twice or
// a row of less than two ids is an error at its line and column.
func ParseMapping(r io.Reader, sources []string) ([][]string, error) {
	br := bufio.NewReader(r)
	cr := csv.NewReader(br)
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	cr.FieldsPerRecord = -1
	if head, _ := br.Peek(4096); strings.Count(firstLine(head), ";") > strings.Count(firstLine(head), ",") {
		cr.Comma = ';'
	}
	header, err := readHeader(cr, sources)
	if err != nil {
		return nil, err
	}
	var out [][]string
	seen := map[string]int{}
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		ids, err := mappingRow(cr, header, row, seen, line)
		if err != nil {
			return nil, err
		}
		if ids != nil {
			out = append(out, ids)
		}
	}
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}

// readHeader reads the header row: one configured source per column.
func readHeader(cr *csv.Reader, sources []string) ([]string, error) {
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, &MappingError{Line: 1, Msg: "empty file: want a header naming sources, such as " + strings.Join(sources, ",")}
	}
	if err != nil {
		return nil, csvError(err)
	}
	for i, h := range header {
		h = strings.TrimPrefix(strings.TrimSpace(h), "\ufeff")
		header[i] = h
		line, col := cr.FieldPos(i)
		switch {
		case !slices.Contains(sources, h):
			return nil, &MappingError{Line: line, Column: col, Msg: fmt.Sprintf("column %q is not a configured source (want one of %s)", h, strings.Join(sources, ", "))}
		case slices.Index(header, h) < i:
			return nil, &MappingError{Line: line, Column: col, Msg: fmt.Sprintf("source %q has two columns", h)}
		}
	}
	if len(header) < 2 {
		return nil, &MappingError{Line: 1, Msg: "want at least two source columns: a mapping joins accounts of different sources"}
	}
	return header, nil
}

// mappingRow returns the internal ids of one row; nil for a blank row.
func mappingRow(cr *csv.Reader, header, row []string, seen map[string]int, line int) ([]string, error) {
	var ids []string
	for i, cell := range row {
		cell = strings.TrimSpace(cell)
		if cell == "" {
			continue
		}
		_, col := cr.FieldPos(i)
		if i >= len(header) {
			return nil, &MappingError{Line: line, Column: col, Msg: fmt.Sprintf("%d cells for %d columns", len(row), len(header))}
		}
		id := model.ID(header[i], cell)
		if first, dup := seen[id]; dup {
			return nil, &MappingError{Line: line, Column: col, Msg: fmt.Sprintf("%s is already mapped on line %d", id, first)}
		}
		seen[id] = line
		ids = append(ids, id)
	}
	switch len(ids) {
	case 0:
		return nil, nil
	case 1:
		return nil, &MappingError{Line: line, Msg: "only one id: a row joins the accounts of one company in two sources or more"}
	}
	return ids, nil
}

// csvError turns encoding/csv's parse errors into MappingErrors.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &MappingError{Line: pe.Line, Column: pe.Column, Msg: pe.Err.Error()}
	}
	return fmt.Errorf("merge: mapping: %w", err)
}
