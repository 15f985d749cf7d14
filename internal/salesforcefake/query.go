package salesforcefake

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Batch sizes of Sforce-Query-Options.
const (
	MinBatchSize     = 200
	MaxBatchSize     = 2000
	DefaultBatchSize = 2000
)

// cursor is an open query: a snapshot of the matching records.
type cursor struct {
	obj     *sobject
	fields  []string
	recs    []*record
	batch   int
	version string
	expired bool
}

func itoa(n int) string { return strconv.Itoa(n) }

// serveQuery answers GET .../query?q=<SOQL>.
func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request) {
	soql := r.URL.Query().Get("q")
	if soql == "" {
		writeErrors(w, http.StatusBadRequest, "MALFORMED_QUERY", "A query string has to be specified")
		return
	}
	batch, ok := batchSize(r.Header.Get("Sforce-Query-Options"))
	if !ok {
		writeErrors(w, http.StatusBadRequest, "INVALID_QUERY_OPTIONS",
			fmt.Sprintf("fake: Sforce-Query-Options batchSize must be between %d and %d", MinBatchSize, MaxBatchSize))
		return
	}
	s.mu.Lock()
	if s.opts.MaxBatch > 0 {
		batch = min(batch, s.opts.MaxBatch)
	}
	q, qerr := s.org.parseQuery(soql)
	var locator string
	var c *cursor
	if qerr == nil {
		c = &cursor{obj: q.obj, fields: q.fields, recs: q.obj.snapshot(q.keep), batch: batch,
			version: versionPath.FindStringSubmatch(r.URL.Path)[1]}
		s.cursorSeq++
		locator = fmt.Sprintf("01g5g%010dQAA", s.cursorSeq)
		s.cursors[locator] = c
	}
	s.mu.Unlock()
	if qerr != nil {
		writeErrors(w, qerr.status, qerr.code, qerr.message)
		return
	}
	s.writePage(w, locator, c, 0)
}

// batchSize reads batchSize from a Sforce-Query-Options header.
func batchSize(h string) (int, bool) {
	if strings.TrimSpace(h) == "" {
		return DefaultBatchSize, true
	}
	for _, opt := range strings.Split(h, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(opt), "=")
		if strings.EqualFold(k, "batchSize") {
			n, err := strconv.Atoi(v)
			return n, err == nil && n >= MinBatchSize && n <= MaxBatchSize
		}
	}
	return DefaultBatchSize, true
}

// serveQueryMore answers GET .../query/<locator>-<offset>.
func (s *Server) serveQueryMore(w http.ResponseWriter, r *http.Request) {
	m := queryMorePath.FindStringSubmatch(r.URL.Path)
	offset, _ := strconv.Atoi(m[3])
	s.mu.Lock()
	c, ok := s.cursors[m[2]]
	ok = ok && !c.expired && offset <= len(c.recs)
	s.mu.Unlock()
	if !ok {
		writeErrors(w, http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
		return
	}
	s.writePage(w, m[2], c, offset)
}

// writePage answers the records of c from offset, closing the cursor on
// its last page.
func (s *Server) writePage(w http.ResponseWriter, locator string, c *cursor, offset int) {
	end := min(offset+c.batch, len(c.recs))
	done := end == len(c.recs)
	if done {
		s.mu.Lock()
		delete(s.cursors, locator)
		s.mu.Unlock()
	}
	buf := make([]byte, 0, 64+(end-offset)*512)
	buf = append(buf, `{"totalSize":`...)
	buf = strconv.AppendInt(buf, int64(len(c.recs)), 10)
	buf = append(buf, `,"done":`...)
	buf = strconv.AppendBool(buf, done)
	if !done {
		buf = append(buf, `,"nextRecordsUrl":"/services/data/`...)
		buf = append(buf, c.version...)
		buf = append(buf, "/query/"...)
		buf = append(buf, locator...)
		buf = append(buf, '-')
		buf = strconv.AppendInt(buf, int64(end), 10)
		buf = append(buf, '"')
	}
	buf = append(buf, `,"records":[`...)
	for i, r := range c.recs[offset:end] {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendRecord(buf, c, r)
	}
	buf = append(buf, "]}"...)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Write(buf)
}

// appendRecord encodes a record as Salesforce does: attributes first, then
// the selected fields in SELECT order.
func appendRecord(buf []byte, c *cursor, r *record) []byte {
	buf = append(buf, `{"attributes":{"type":"`...)
	buf = append(buf, c.obj.name...)
	buf = append(buf, `","url":"/services/data/`...)
	buf = append(buf, c.version...)
	buf = append(buf, "/sobjects/"...)
	buf = append(buf, c.obj.name...)
	buf = append(buf, '/')
	buf = append(buf, r.id...)
	buf = append(buf, `"}`...)
	for _, f := range c.fields {
		buf = append(buf, ',')
		buf = appendString(buf, f)
		buf = append(buf, ':')
		buf = appendValue(buf, r.fields[f])
	}
	return append(buf, '}')
}

func appendValue(buf []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(buf, "null"...)
	case string:
		return appendString(buf, x)
	case bool:
		return strconv.AppendBool(buf, x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return append(strconv.AppendFloat(buf, x, 'f', -1, 64), ".0"...)
		}
		return strconv.AppendFloat(buf, x, 'f', -1, 64)
	case time.Time:
		return appendString(buf, x.UTC().Format(DatetimeLayout))
	}
	data, err := json.Marshal(v)
	if err != nil {
		return append(buf, "null"...)
	}
	return append(buf, data...)
}

// appendString appends s as a JSON string.
func appendString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			data, _ := json.Marshal(s)
			return append(buf, data...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}
