package csv

import (
	"bufio"
	"bytes"
	"context"
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
	format *Format
	comma  rune   // the field delimiter
	origin string // how comma was found when the format has none
	rs     *records
	cols   map[string]int // lower-case header name → column index
	extra  []column       // columns the schema does not know
	ids    idCheck        // the ids of the rows accepted so far
	langs  badLanguages   // kept rows whose language names none
}

// idCheck finds the rows of a file that repeat the id of a row accepted
// earlier. While the accepted ids come in increasing order (shorter first,
// then byte by byte: A9 < A10 < B10), as in most exports, a new id cannot
// repeat an earlier one and only the last is kept, so memory does not grow
// with the file. The first id out of order makes it index the ids of the
// rows before it, by reading them again with index, and look every later
// id up there.
type idCheck struct {
	last  string
	seen  map[string]int // id → line of the accepted row that had it; nil while in order
	index func(line int) (map[string]int, error)
}

// first returns the line of the accepted row that had id, if any, before
// the row at line.
func (x *idCheck) first(id string, line int) (int, bool, error) {
	if x.seen == nil {
		if before(x.last, id) {
			return 0, false, nil
		}
		seen, err := x.index(line)
		if err != nil {
			return 0, false, err
		}
		x.seen = seen
	}
	n, ok := x.seen[id]
	return n, ok, nil
}

// accept remembers that the row at line, with id, was accepted.
func (x *idCheck) accept(id string, line int) {
	if x.seen != nil {
		x.seen[id] = line
		return
	}
	x.last = id
}

// before reports whether a sorts before b: shorter first, then byte by
// byte.
func before(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// badLanguages counts the kept rows of a file whose language column
// names no language, and remembers the first.
type badLanguages struct {
	rows  int
	line  int    // line of the first
	value string // its value
}

// column is a header name and its index.
type column struct {
	name  string
	index int
}

// headSize is how much of a file's start is looked at for a sep= line
// and to detect the delimiter.
const headSize = 64 << 10

// openFile starts reading text, UTF-8, as s's file written in format and
// parses its header. A first line such as "sep=;", which Excel writes and
// reads, names the delimiter when format has none, and the header is the
// line after it. index reads the file again up to a line, for ids.
func openFile(source string, s *schema, text io.Reader, format *Format, index func(int) (map[string]int, error)) (*file, error) {
	f := &file{source: source, schema: s, format: format, comma: format.Delimiter, ids: idCheck{index: index}}
	br := bufio.NewReaderSize(text, headSize)
	head, err := br.Peek(headSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("read %s: %w", s.file, err)
	}
	sep := sepLine(head)
	switch {
	case f.comma != 0:
	case sep != 0:
		f.comma, f.origin = sep, "from the sep= line"
	default:
		f.comma, f.origin = detectDelimiter(head), "detected"
	}
	f.rs = newRecords(br, f.comma)
	if sep != 0 {
		f.rs.restart(2)
	}
	return f, f.readHeader()
}

// sepLine returns the delimiter named by a first line such as "sep=;",
// or 0 when data does not start with one.
func sepLine(data []byte) rune {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	rest, ok := bytes.CutPrefix(bytes.TrimSuffix(line, []byte("\r")), []byte("sep="))
	if !ok {
		return 0
	}
	r, size := utf8.DecodeRune(rest)
	if size != len(rest) || !isDelimiter(r) {
		return 0
	}
	return r
}

// readHeader maps the header's column names to their index and checks
// that every required column is present.
func (f *file) readHeader() error {
	hdr, line, err := f.rs.header()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%s:1: missing header row", f.schema.file)
	}
	if err != nil {
		return fmt.Errorf("%s: header: %w", f.schema.file, err)
	}
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
			return fmt.Errorf("%s:%d: missing required column %q (%s)", f.schema.file, line, name, f.headerHint(hdr))
		}
	}
	return nil
}

// unparsed returns the Reject of the row at line that the CSV reader
// could not parse, or an error when reading failed for another reason.
func (f *file) unparsed(line int, err error) (*model.Reject, error) {
	var bad *badRecord
	if !errors.As(err, &bad) {
		return nil, fmt.Errorf("read %s: %w", f.schema.file, err)
	}
	return f.reject(line, bad.reason, bad.raw), nil
}

// mapRow maps the row at line into b, or returns why it cannot.
func (f *file) mapRow(b *model.Batch, rec []string, line int) (*model.Reject, error) {
	r := &row{source: f.source, rec: rec, cols: f.cols, extra: f.extra, format: f.format}
	id := r.str("id")
	if id != "" {
		first, dup, err := f.ids.first(id, line)
		if err != nil {
			return nil, err
		}
		if dup {
			return f.reject(line, fmt.Sprintf("id: duplicate id %q (first on line %d)", id, first), f.rawOf(rec)), nil
		}
	}
	f.schema.mapRow(r, b)
	if r.err != nil {
		return f.reject(line, r.err.Error(), f.rawOf(rec)), nil
	}
	if r.badLanguage != "" {
		if f.langs.rows == 0 {
			f.langs.line, f.langs.value = line, truncate(r.badLanguage)
		}
		f.langs.rows++
	}
	f.ids.accept(id, line)
	return nil, nil
}

// indexTo maps the rows before line into scratch batches and returns the
// ids of those accepted, with their line.
func (f *file) indexTo(line int) (map[string]int, error) {
	f.ids.seen = make(map[string]int)
	var b model.Batch
	for {
		rec, n, err := f.rs.next()
		switch {
		case errors.Is(err, io.EOF):
			return f.ids.seen, nil
		case err == nil && n < line:
			b = model.Batch{Accounts: b.Accounts[:0], Contacts: b.Contacts[:0], Deals: b.Deals[:0], Owners: b.Owners[:0]}
			if _, err := f.mapRow(&b, rec, n); err != nil {
				return nil, err
			}
		case err == nil:
			return f.ids.seen, nil
		default:
			if _, err := f.unparsed(n, err); err != nil {
				return nil, err
			}
		}
	}
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

// rawOf joins a row's fields with the file's delimiter, truncated for a
// Reject.
func (f *file) rawOf(rec []string) string {
	return truncate(strings.Join(rec, string(f.comma)))
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

// filePos is how far a pull has read one file: the data rows mapped so
// far, and those an earlier pull delivered already (skipped).
type filePos struct {
	file string
	sha  string
	skip int
	read int
}

// pager groups rows into pages and advances the watermark of the files
// they come from.
type pager struct {
	fn    connectors.PageFunc
	wm    connectors.Watermark
	size  int        // maximum rows per page
	files []*filePos // the files the pages hold rows of
	at    *filePos   // the file of the row being mapped

	rows    int // rows in page
	page    connectors.Page
	scratch model.Batch // receives the rows that are skipped
}

// batch returns where the next row's record goes: the page, or a scratch
// batch when an earlier pull delivered that row.
func (p *pager) batch() *model.Batch {
	if p.at.read >= p.at.skip {
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
	if p.at.read >= p.at.skip {
		p.page.Rejects = append(p.page.Rejects, r)
	}
}

// advance counts the row just mapped and sends the page when it is full.
func (p *pager) advance(ctx context.Context) error {
	p.at.read++
	if p.at.read <= p.at.skip {
		return nil
	}
	p.rows++
	if p.rows < p.size {
		return nil
	}
	return p.flush(ctx)
}

// flush sends the page, if it has rows, with the watermark after them:
// each file's position after its rows in this page and those before, or
// after those an earlier pull delivered (none for a file not read yet).
func (p *pager) flush(ctx context.Context) error {
	if p.rows == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, f := range p.files {
		if n := max(f.read, f.skip); n > 0 {
			p.wm[f.file] = position(f.sha, n)
		}
	}
	page := p.page
	page.Watermark = p.wm.Clone()
	p.page, p.rows = connectors.Page{}, 0
	return p.fn(ctx, page)
}
