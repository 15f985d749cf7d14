package csv

import (
	"bytes"
	stdcsv "encoding/csv"
	"errors"
	"fmt"
	"io"
)

// chunk is how many bytes records reads from its source at a time.
const chunk = 64 << 10

// records reads the records of one CSV file with encoding/csv, streaming.
//
// encoding/csv reads a quoted field up to its closing quote however many
// lines away it is, so one stray or missing quote can turn every line after
// it into a single broken record. When the reader cannot parse a record
// that runs over several lines, records sets aside the record's first line
// only and starts a new reader on the next line: every line of the file
// ends up in a record or in a line set aside, with its real line number.
//
// To start again from a line already read, records keeps a window of the
// text from the start of the record being read: a few kilobytes, except
// when a quote left open makes the reader run on to the end of the file.
type records struct {
	src   io.Reader
	eof   bool   // src is exhausted: win holds the rest of the file
	win   []byte // text read from src, from the start of the current record
	line  int    // line number of win[0]
	pos   int    // bytes of win handed to r
	at    int64  // offset in the text of win[0]
	begin int64  // offset in the text where r started reading
	comma rune   // the field delimiter
	r     *stdcsv.Reader
	shift int // line number in the file minus line number for r
	width int // fields in every record: the header's
	err   error
}

// badRecord is the first line of a record the CSV reader could not parse,
// set aside.
type badRecord struct {
	reason string
	raw    string // the line's text, truncated
}

func (e *badRecord) Error() string { return e.reason }

// newRecords starts reading src, UTF-8 text whose fields are separated by
// comma, from its first line.
func newRecords(src io.Reader, comma rune) *records {
	rs := &records{src: src, comma: comma, line: 1}
	rs.r = rs.newReader(0)
	return rs
}

// newReader returns a strict reader of the text from win[pos]: quotes
// must be balanced and every record must have width fields, or the first
// record's count when width is 0.
func (rs *records) newReader(width int) *stdcsv.Reader {
	r := stdcsv.NewReader(feed{rs})
	r.Comma = rs.comma
	r.ReuseRecord = true
	r.LazyQuotes = false
	r.FieldsPerRecord = width
	return r
}

// feed hands the CSV reader the window's text, then src's.
type feed struct{ rs *records }

func (f feed) Read(p []byte) (int, error) {
	rs := f.rs
	if rs.pos == len(rs.win) {
		if err := rs.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, rs.win[rs.pos:])
	rs.pos += n
	return n, nil
}

// fill appends the next bytes of src to the window. It returns io.EOF
// when src has no more.
func (rs *records) fill() error {
	if rs.eof {
		return io.EOF
	}
	if rs.err != nil {
		return rs.err
	}
	if cap(rs.win)-len(rs.win) < chunk {
		rs.win = append(make([]byte, 0, 2*len(rs.win)+chunk), rs.win...)
	}
	n, err := io.ReadAtLeast(rs.src, rs.win[len(rs.win):cap(rs.win)], 1)
	rs.win = rs.win[:len(rs.win)+n]
	switch {
	case n > 0:
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			rs.eof = true
		}
		return nil
	case errors.Is(err, io.EOF):
		rs.eof = true
		return io.EOF
	default:
		rs.err = err
		return err
	}
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
	rs.forget()
	return hdr, rs.shift + line, nil
}

// next returns the next record and the line it starts on. It returns a
// *badRecord for a record that cannot be parsed, io.EOF after the last
// record, or the error of the underlying reader. The record is only valid
// until the next call.
func (rs *records) next() ([]string, int, error) {
	rs.forget()
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

// consumed returns the offset in the text of the end of the record just
// read.
func (rs *records) consumed() int64 {
	return rs.begin + rs.r.InputOffset()
}

// forget drops from the window the text of the records already read.
func (rs *records) forget() {
	cut := int(rs.consumed() - rs.at)
	if cut <= 0 {
		return
	}
	rs.drop(cut)
}

// drop removes the first n bytes of the window.
func (rs *records) drop(n int) {
	rs.line += bytes.Count(rs.win[:n], []byte("\n"))
	rs.win = rs.win[n:]
	rs.pos -= n
	rs.at += int64(n)
}

// end returns the last line of the record just read.
func (rs *records) end() int {
	return rs.lineOf(int(rs.consumed()-rs.at) - 1)
}

// lineOf returns the number of the line that holds the byte at offset off
// of the window.
func (rs *records) lineOf(off int) int {
	return rs.line + bytes.Count(rs.win[:max(0, off)], []byte("\n"))
}

// start returns the offset in the window where line n (from the window's
// first) starts, reading more of src when needed, or len(win) when the
// file has fewer lines.
func (rs *records) start(n int) int {
	off := 0
	for l := rs.line; l < n; l++ {
		i := bytes.IndexByte(rs.win[off:], '\n')
		for i < 0 {
			if rs.fill() != nil {
				return len(rs.win)
			}
			i = bytes.IndexByte(rs.win[off:], '\n')
		}
		off += i + 1
	}
	return off
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
	i := rs.start(rs.shift+pe.Line) + pe.Column - 1
	return i >= len(rs.win) || rs.win[i] != '"'
}

// text returns line n without its line ending, truncated for a Reject.
func (rs *records) text(n int) string {
	line := rs.win[rs.start(n):]
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	return truncate(string(line[:min(len(line), maxRaw+1)]))
}

// restart reads on from the start of line n with a new reader.
func (rs *records) restart(n int) {
	rs.pos = rs.start(n)
	rs.drop(rs.pos)
	rs.begin = rs.at
	rs.shift = n - 1
	rs.r = rs.newReader(rs.width)
}
