package csv

import (
	"bytes"
	"context"
	stdcsv "encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// maxRaw is the length, in bytes, past which a reject's Raw is truncated.
const maxRaw = 200

// file is one CSV file being read, its header already parsed.
type file struct {
	source string
	schema *schema
	data   []byte
	r      *stdcsv.Reader
	cols   map[string]int // lower-case header name → column index
	extra  []column       // columns the schema does not know
	seen   map[string]int // id → line of the accepted row that had it
}

// column is a header name and its index.
type column struct {
	name  string
	index int
}

// openFile starts reading data as s's file and parses its header.
func openFile(source string, s *schema, data []byte) (*file, error) {
	r := stdcsv.NewReader(bytes.NewReader(data))
	r.ReuseRecord = true
	r.LazyQuotes = false
	r.FieldsPerRecord = 0 // the header's field count, enforced on every row
	f := &file{source: source, schema: s, data: data, r: r, seen: make(map[string]int)}
	return f, f.readHeader()
}

// readHeader maps the header's column names to their index and checks
// that every required column is present.
func (f *file) readHeader() error {
	hdr, err := f.r.Read()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s:1: missing header row", f.schema.file)
	}
	if err != nil {
		return fmt.Errorf("%s: header: %w", f.schema.file, err)
	}
	line, _ := f.r.FieldPos(0)
	f.cols = make(map[string]int, len(hdr))
	for i, h := range hdr {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF")))
		if _, dup := f.cols[name]; dup && name != "" {
			return fmt.Errorf("%s:%d: duplicate column %q", f.schema.file, line, name)
		}
		f.cols[name] = i
		if name != "" && !f.schema.knows(name) {
			f.extra = append(f.extra, column{name: name, index: i})
		}
	}
	for _, name := range f.schema.required {
		if _, ok := f.cols[name]; !ok {
			return fmt.Errorf("%s:%d: missing required column %q", f.schema.file, line, name)
		}
	}
	return nil
}

// each maps every data row and hands the results to p, which pages them.
func (f *file) each(ctx context.Context, p *pager) error {
	for {
		rec, err := f.r.Read()
		if errors.Is(err, io.EOF) {
			return p.flush(ctx)
		}
		line, ferr := f.line(err)
		if ferr != nil {
			return ferr
		}
		if rej := f.mapRow(p.batch(), rec, line, err); rej != nil {
			p.reject(*rej)
		}
		if err := p.advance(ctx); err != nil {
			return err
		}
	}
}

// line returns the line where the row just read starts, or an error when
// the reader failed for another reason than a malformed row.
func (f *file) line(readErr error) (int, error) {
	var pe *stdcsv.ParseError
	switch {
	case readErr == nil:
		line, _ := f.r.FieldPos(0)
		return line, nil
	case errors.As(readErr, &pe):
		return pe.StartLine, nil
	default:
		return 0, fmt.Errorf("read %s: %w", f.schema.file, readErr)
	}
}

// mapRow maps one row read with readErr into b, or returns why it cannot.
func (f *file) mapRow(b *model.Batch, rec []string, line int, readErr error) *model.Reject {
	if readErr != nil {
		return f.reject(line, malformed(readErr, len(f.cols)), f.rawRow(rec, readErr))
	}
	r := &row{source: f.source, rec: rec, cols: f.cols, extra: f.extra}
	id := r.str("id")
	if first, dup := f.seen[id]; dup && id != "" {
		return f.reject(line, fmt.Sprintf("id: duplicate id %q (first on line %d)", id, first), rawOf(rec))
	}
	f.schema.mapRow(r, b)
	if r.err != nil {
		return f.reject(line, r.err.Error(), rawOf(rec))
	}
	f.seen[id] = line
	return nil
}

// reject builds the Reject of the row at line.
func (f *file) reject(line int, reason, raw string) *model.Reject {
	return &model.Reject{
		Source: f.source,
		Entity: f.schema.entity,
		Where:  fmt.Sprintf("%s:%d", f.schema.file, line),
		Reason: reason,
		Raw:    raw,
		At:     time.Now(),
	}
}

// malformed describes a row the CSV reader could not parse.
func malformed(err error, want int) string {
	var pe *stdcsv.ParseError
	if errors.As(err, &pe) && errors.Is(pe.Err, stdcsv.ErrFieldCount) {
		return fmt.Sprintf("wrong number of fields (header has %d)", want)
	}
	if errors.As(err, &pe) {
		return "malformed row: " + pe.Err.Error()
	}
	return "malformed row: " + err.Error()
}

// rawRow returns the raw text of a row the reader returned with err: its
// fields when only their count is wrong, else its lines in the file.
func (f *file) rawRow(rec []string, err error) string {
	var pe *stdcsv.ParseError
	if !errors.As(err, &pe) || errors.Is(pe.Err, stdcsv.ErrFieldCount) {
		return rawOf(rec)
	}
	return truncate(linesOf(f.data, pe.StartLine, pe.Line))
}

// rawOf joins a row's fields, truncated for a Reject.
func rawOf(rec []string) string {
	return truncate(strings.Join(rec, ","))
}

// linesOf returns lines from to to (1-based, inclusive) of data.
func linesOf(data []byte, from, to int) string {
	var out []string
	for i, l := range strings.Split(string(data), "\n") {
		if n := i + 1; n >= from && n <= to {
			out = append(out, strings.TrimSuffix(l, "\r"))
		}
	}
	return strings.Join(out, "\n")
}

// truncate cuts s to at most maxRaw bytes without splitting a character.
func truncate(s string) string {
	if len(s) <= maxRaw {
		return s
	}
	cut := maxRaw
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// pager groups the rows of one file into pages and advances the watermark.
type pager struct {
	fn   connectors.PageFunc
	file string
	sha  string
	wm   connectors.Watermark
	size int // maximum rows per page
	skip int // rows delivered by an earlier pull

	read    int // data rows read so far
	rows    int // rows in page
	page    connectors.Page
	scratch model.Batch // receives the rows that are skipped
}

// batch returns where the next row's record goes: the page, or a scratch
// batch when an earlier pull delivered that row.
func (p *pager) batch() *model.Batch {
	if p.read >= p.skip {
		return &p.page.Batch
	}
	p.scratch = model.Batch{
		Accounts: p.scratch.Accounts[:0],
		Contacts: p.scratch.Contacts[:0],
		Deals:    p.scratch.Deals[:0],
		Owners:   p.scratch.Owners[:0],
	}
	return &p.scratch
}

// reject adds r to the page unless its row was delivered earlier.
func (p *pager) reject(r model.Reject) {
	if p.read >= p.skip {
		p.page.Rejects = append(p.page.Rejects, r)
	}
}

// advance counts the row just mapped and sends the page when it is full.
func (p *pager) advance(ctx context.Context) error {
	p.read++
	if p.read <= p.skip {
		return nil
	}
	p.rows++
	if p.rows < p.size {
		return nil
	}
	return p.flush(ctx)
}

// flush sends the page, if it has rows, with the watermark after them.
func (p *pager) flush(ctx context.Context) error {
	if p.rows == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p.wm[p.file] = position(p.sha, p.read)
	page := p.page
	page.Watermark = p.wm.Clone()
	p.page, p.rows = connectors.Page{}, 0
	return p.fn(ctx, page)
}
