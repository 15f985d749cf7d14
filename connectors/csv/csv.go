// Package csv is the connector for portfolios exported as CSV files:
// owners.csv, accounts.csv, contacts.csv and deals.csv in one directory (or
// any fs.FS). The format is documented in examples/sample/README.md.
//
// Format says how the files are written: by default UTF-8 (a byte order
// mark is skipped), the delimiter detected from each file's header line
// among , ; tab and |, YYYY-MM-DD or RFC 3339 dates and '.' decimals. A
// French export sets Windows-1252, a DD/MM/YYYY date format and ','
// decimals (1.234,56 or 1 234,56); ParseFormat reads the settings of a
// source's configuration. When the header lacks a required column, the
// error says which delimiter the header was read with and what it holds.
//
// Rows that cannot be mapped are set aside as model.Reject with their
// file:line and the reason; the rest of the file is kept. A row the CSV
// reader cannot parse (a quote left open, a stray quote, a wrong number of
// fields) never takes other rows with it: when it runs over several lines,
// only its first line is set aside and reading resumes on the next, so
// every non-blank line of a file is in a record or in a reject. The watermark
// holds, per file, the SHA-256 of its content (and of the Format, unless
// it is the default) and the number of data rows already delivered, so an
// unchanged file is not read again, a file is read again when its Format
// changes, and an interrupted pull resumes where it stopped.
//
// The files are a snapshot of the portfolio: a row missing from a new
// version is a record gone. With BeginSweep set, a pull that finds any
// file changed reads every file again inside a sweep of the source's
// stored records, which then removes the records no file holds any more.
package csv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/crmsync/crmsync/connectors"
)

// PageSize is the default maximum number of rows in a page.
const PageSize = 500

var _ connectors.Connector = (*Connector)(nil)

// Connector pulls a portfolio from CSV files.
type Connector struct {
	// PageSize is the maximum number of rows (records and rejects) in a
	// page; the package's PageSize when zero or less.
	PageSize int
	// Format says how the files are written; the zero Format reads UTF-8
	// files with a detected delimiter, ISO dates and '.' decimals.
	Format Format
	// BeginSweep, when set, opens a sweep of the source's stored records
	// (store.Records.BeginSweep): a pull that finds the files changed
	// calls it and reads them all again, so the records no longer in them
	// are removed when the sync completes. Nil: rows removed from a file
	// stay stored.
	BeginSweep func(ctx context.Context, at time.Time) error

	source string
	fsys   fs.FS
	logger *slog.Logger

	mu      sync.Mutex
	absent  map[string]bool   // optional files already reported missing
	badUTF  map[string]string // file → checksum of the version reported not UTF-8
	badLang map[string]string // file → checksum of the version whose languages were reported
}

// New returns a connector reading the CSV files at the root of fsys, such as
// os.DirFS(path) or a sub-tree of an embed.FS, for the source named source.
// A nil logger discards logs.
func New(source string, fsys fs.FS, logger *slog.Logger) *Connector {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Connector{
		PageSize: PageSize,
		source:   source,
		fsys:     fsys,
		logger:   logger.With("connector", source),
		absent:   make(map[string]bool),
		badUTF:   make(map[string]string),
		badLang:  make(map[string]string),
	}
}

// Pull reads owners.csv, accounts.csv, contacts.csv and deals.csv in that
// order and calls fn with pages of at most PageSize rows, each of one file.
// Files whose content and position match from are skipped, so when nothing
// changed fn is not called at all.
func (c *Connector) Pull(ctx context.Context, from connectors.Watermark, fn connectors.PageFunc) error {
	if err := c.Format.check(); err != nil {
		return err
	}
	files, version, err := c.readAll()
	if err != nil {
		return err
	}
	wm := from.Clone()
	if c.BeginSweep != nil && wm[versionKey] != version {
		if err := c.BeginSweep(ctx, time.Now()); err != nil {
			return fmt.Errorf("csv: %w", err)
		}
		wm = connectors.Watermark{versionKey: version}
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.pullFile(ctx, f, wm, fn); err != nil {
			return err
		}
	}
	return nil
}

// versionKey is the watermark entry holding the checksum of every file
// together, when the connector sweeps.
const versionKey = "files"

// csvFile is one file read, with its checksum.
type csvFile struct {
	schema *schema
	data   []byte
	sha    string
}

// readAll reads the files present and returns them with a checksum of
// them all.
func (c *Connector) readAll() ([]csvFile, string, error) {
	var files []csvFile
	h := sha256.New()
	for _, s := range schemas {
		data, err := c.readFile(s)
		if err != nil {
			return nil, "", err
		}
		if data == nil {
			continue
		}
		f := csvFile{schema: s, data: data, sha: c.checksum(data)}
		files = append(files, f)
		fmt.Fprintf(h, "%s:%s\n", s.file, f.sha)
	}
	return files, hex.EncodeToString(h.Sum(nil)), nil
}

// pullFile delivers the rows of one file not yet covered by wm.
func (c *Connector) pullFile(ctx context.Context, cf csvFile, wm connectors.Watermark, fn connectors.PageFunc) error {
	s, sha := cf.schema, cf.sha
	text, err := c.Format.decode(cf.data)
	if err != nil {
		return fmt.Errorf("decode %s as %v: %w", s.file, c.Format.Encoding, err)
	}
	c.checkUTF8(s.file, sha, text)
	f, err := openFile(c.source, s, text, &c.Format)
	if err != nil {
		return err
	}
	p := &pager{
		fn:   fn,
		file: s.file,
		sha:  sha,
		wm:   wm,
		size: c.pageSize(),
		skip: resumeAt(wm[s.file], sha),
	}
	if err := f.each(ctx, p); err != nil {
		return err
	}
	c.warnLanguages(s.file, sha, f.langs)
	return nil
}

// warnLanguages warns, once per version of a file, that rows were kept
// without a language because their language column names none.
func (c *Connector) warnLanguages(file, sha string, b badLanguages) {
	if b.rows == 0 {
		return
	}
	c.warnOnce(c.badLang, file, sha, "csv rows kept without a language: their language names none (want a tag such as fr or en-GB, or a name such as French)",
		"file", file, "rows", b.rows, "line", b.line, "value", b.value)
}

// warnOnce logs msg once per version sha of file: seen remembers, by
// file, the version last warned about.
func (c *Connector) warnOnce(seen map[string]string, file, sha, msg string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seen[file] == sha {
		return
	}
	seen[file] = sha
	c.logger.Warn(msg, args...)
}

// checksum returns the SHA-256 of a file's content, and of the Format
// unless it is the default, so that changing the Format reads the files
// again.
func (c *Connector) checksum(data []byte) string {
	h := sha256.New()
	h.Write(data)
	if fp := c.Format.fingerprint(); fp != "" {
		h.Write([]byte("\x00format:" + fp))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// checkUTF8 warns, once per version of a file, when text is not valid
// UTF-8: the file was probably saved in another encoding.
func (c *Connector) checkUTF8(file, sha string, text []byte) {
	if utf8.Valid(text) {
		return
	}
	c.warnOnce(c.badUTF, file, sha, "csv file is not valid UTF-8: if it was saved as Windows-1252 (Excel on Windows), set encoding: windows-1252",
		"file", file, "line", firstInvalidLine(text))
}

// firstInvalidLine returns the number of the first line of text that is
// not valid UTF-8, or 0.
func firstInvalidLine(text []byte) int {
	for n := 1; len(text) > 0; n++ {
		line, rest, _ := bytes.Cut(text, []byte("\n"))
		if !utf8.Valid(line) {
			return n
		}
		text = rest
	}
	return 0
}

// readFile returns the content of s's file, or nil when an optional file
// is absent.
func (c *Connector) readFile(s *schema) ([]byte, error) {
	data, err := fs.ReadFile(c.fsys, s.file)
	switch {
	case err == nil:
		return data, nil
	case s.optional && errors.Is(err, fs.ErrNotExist):
		c.reportAbsent(s.file)
		return nil, nil
	default:
		return nil, fmt.Errorf("read %s: %w", s.file, err)
	}
}

// reportAbsent logs, once per connector, that an optional file is absent.
func (c *Connector) reportAbsent(file string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.absent[file] {
		return
	}
	c.absent[file] = true
	c.logger.Info("csv file absent, treated as empty", "file", file)
}

func (c *Connector) pageSize() int {
	if c.PageSize <= 0 {
		return PageSize
	}
	return c.PageSize
}

// resumeAt returns the number of data rows already delivered according to
// the watermark value v ("<sha256>:<rows>"), or 0 when v is empty,
// malformed or about another version of the file.
func resumeAt(v, sha string) int {
	sum, rows, ok := strings.Cut(v, ":")
	if !ok || sum != sha {
		return 0
	}
	n, err := strconv.Atoi(rows)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// position returns the watermark value of a file after rows data rows.
func position(sha string, rows int) string {
	return sha + ":" + strconv.Itoa(rows)
}
