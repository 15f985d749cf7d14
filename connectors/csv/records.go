package csv

import (
	"bytes"
	stdcsv "encoding/csv"
	"errors"
	"fmt"
)

// records reads the records of one CSV file with encoding/csv.
//
// encoding/csv reads a quoted field up to its closing quote however many
// lines away it is, so one stray or missing quote can turn every line after
// it into a single broken record. When the reader cannot parse a record
// that runs over several lines, records sets aside the record's first line
// only and starts a new reader on the next line: every line of the file
// ends up in a record or in a line set aside, with its real line number.
type records struct {
	data  []byte
	comma rune // the field delimiter
	r     *stdcsv.Reader
	base  int // offset in data where r started reading
	shift int // line number in the file minus line number for r
	width int // fields in every record: the header's
	lines cursor
}

// badRecord is the first line of a record the CSV reader could not parse,
// set aside.
type badRecord struct {
	reason string
	raw    string // the line's text, truncated
}

func (e *badRecord) Error() string { return e.reason }

// newRecords starts reading data, whose fields are separated by comma,
// from its first line.
func newRecords(data []byte, comma rune) *records {
	return &records{data: data, comma: comma, r: newReader(data, 0, comma), lines: cursor{data: data, line: 1}}
}

// newReader returns a strict reader of data: quotes must be balanced and
// every record must have width fields, or the first record's count when
// width is 0.
func newReader(data []byte, width int, comma rune) *stdcsv.Reader {
	r := stdcsv.NewReader(bytes.NewReader(data))
	r.Comma = comma
	r.ReuseRecord = true
	r.LazyQuotes = false
	r.FieldsPerRecord = width
	return r
}

// header reads the header row, whose number of fields every record must
// then have, and returns it with the line it starts on.
func (rs *records) header() ([]string, int, error) {
	hdr, err := rs.r.Read()
	if err != nil {
		return nil, 0, err
	}
	rs.width = len(hdr)
	line, _ := rs.r.FieldPos(0)
	return hdr, rs.shift + line, nil
}

// next returns the next record and the line it starts on. It returns a
// *badRecord for a record that cannot be parsed, io.EOF after the last
// record, or the error of the underlying reader. The record is only valid
// until the next call.
func (rs *records) next() ([]string, int, error) {
	rec, err := rs.r.Read()
	if err == nil {
		line, _ := rs.r.FieldPos(0)
		return rec, rs.shift + line, nil
	}
	var pe *stdcsv.ParseError
	if !errors.As(err, &pe) {
		return nil, 0, err
	}
	start := rs.shift + pe.StartLine
	return nil, start, rs.setAside(pe, start)
}

// end returns the last line of the record just read.
func (rs *records) end() int {
	return rs.lines.lineOf(rs.base + int(rs.r.InputOffset()) - 1)
}

// setAside describes the record starting on line start that the reader
// failed to parse with pe and, when the reader went past that line, reads
// on from the next line.
func (rs *records) setAside(pe *stdcsv.ParseError, start int) *badRecord {
	end := rs.end()
	bad := &badRecord{reason: rs.explain(pe, start, end), raw: rs.text(start)}
	if end > start {
		rs.restart(start + 1)
	}
	return bad
}

// explain returns why the record on lines start to end could not be
// parsed and, when it runs over several lines, that only the first is set
// aside.
func (rs *records) explain(pe *stdcsv.ParseError, start, end int) string {
	what, eof := "malformed row: "+pe.Err.Error(), ""
	switch {
	case errors.Is(pe.Err, stdcsv.ErrFieldCount):
		what = fmt.Sprintf("wrong number of fields (header has %d)", rs.width)
	case rs.unterminated(pe):
		what, eof = "malformed row: unterminated quoted field", ", to the end of the file"
	}
	if end == start {
		return what
	}
	return fmt.Sprintf("%s; the row runs over lines %d-%d%s, so only line %d is set aside and parsing resumed at line %d",
		what, start, end, eof, start, start+1)
}

// unterminated reports whether pe is about a quoted field still open at the
// end of the file rather than a stray quote in one: only then is there no
// quote where pe points.
func (rs *records) unterminated(pe *stdcsv.ParseError) bool {
	if !errors.Is(pe.Err, stdcsv.ErrQuote) {
		return false
	}
	i := rs.lines.start(rs.shift+pe.Line) + pe.Column - 1
	return i >= len(rs.data) || rs.data[i] != '"'
}

// text returns line n without its line ending, truncated for a Reject.
func (rs *records) text(n int) string {
	line := rs.data[rs.lines.start(n):]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	return truncate(string(line[:min(len(line), maxRaw+1)]))
}

// restart reads on from the start of line n with a new reader.
func (rs *records) restart(n int) {
	rs.base = rs.lines.start(n)
	rs.shift = n - 1
	rs.r = newReader(rs.data[rs.base:], rs.width, rs.comma)
}

// cursor finds where lines start in data. Lines end with '\n', as for
// encoding/csv. It moves from the line asked last, so asking for nearby
// lines is cheap.
type cursor struct {
	data []byte
	line int // a line number, from 1
	off  int // the offset where that line starts
}

// start returns the offset where line n (from 1) starts, or len(data)
// when the file has fewer lines.
func (c *cursor) start(n int) int {
	for c.line > n {
		c.off = bytes.LastIndexByte(c.data[:c.off-1], '\n') + 1
		c.line--
	}
	for c.line < n {
		i := bytes.IndexByte(c.data[c.off:], '\n')
		if i < 0 {
			return len(c.data)
		}
		c.off += i + 1
		c.line++
	}
	return c.off
}

// lineOf returns the number of the line that holds the byte at offset off.
func (c *cursor) lineOf(off int) int {
	for c.off > off {
		c.start(c.line - 1)
	}
	for {
		i := bytes.IndexByte(c.data[c.off:], '\n')
		if i < 0 || c.off+i >= off {
			return c.line
		}
		c.off += i + 1
		c.line++
	}
}
