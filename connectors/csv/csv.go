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
// Files are streamed, so memory does not grow with their size: a pull
// reads each file once to hash it, then again to map its rows, holding
// a page of records and a few kilobytes of text at a time (all of the
// rest of a file only when a quote left open runs to its end). A file
// that changes between the two reads fails the pull, and the next pull
// reads it again. A row repeating the id of an accepted row is set aside;
// while a file's ids come in increasing order (shorter first, then byte
// by byte, as exports sorted by id are) that check keeps only the last
// id, and from the first id out of order it keeps an index of the file's
// ids, built by reading the rows before it again.
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
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/crmsync/crmsync/connectors"
)

// PageSize is the default maximum number of rows in a page. A page is
// what the store writes in one step: its fixed cost (a read and a write
// round trip, the planning of its bundles) is spread over its rows, and a
// full sync of 100,000 accounts took a quarter less time with pages of
// 2,000 rows than with 500, as long as with 5,000. The memory a sync
// holds is a few pages (workers.Syncer, store.PageWriter).
const PageSize = 2000

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

// Pull reads owners.csv, then accounts.csv, contacts.csv and deals.csv
// side by side, and calls fn with pages of at most PageSize rows: each
// account with its contacts and deals as far as the files are sorted by
// account (merge.go).
// Files whose content and position match from are skipped, so when nothing
// changed fn is not called at all.
func (c *Connector) Pull(ctx context.Context, from connectors.Watermark, fn connectors.PageFunc) error {
	if err := c.Format.check(); err != nil {
		return err
	}
	files, version, err := c.hashAll()
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
	// Owners first, then accounts with their contacts and deals.
	var owners, rest []csvFile
	for _, f := range files {
		if f.schema.accountColumn == "" {
			owners = append(owners, f)
		} else {
			rest = append(rest, f)
		}
	}
	for _, group := range [][]csvFile{owners, rest} {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.pullFiles(ctx, group, wm, fn); err != nil {
			return err
		}
	}
	return nil
}

// versionKey is the watermark entry holding the checksum of every file
// together, when the connector sweeps.
const versionKey = "files"

// csvFile is a file present, with its checksum.
type csvFile struct {
	schema *schema
	sha    string
}

// hashAll reads the files present and returns them with their checksum
// and a checksum of them all.
func (c *Connector) hashAll() ([]csvFile, string, error) {
	var files []csvFile
	h := sha256.New()
	for _, s := range schemas {
		sha, ok, err := c.hash(s)
		if err != nil {
			return nil, "", err
		}
		if !ok {
			continue
		}
		files = append(files, csvFile{schema: s, sha: sha})
		fmt.Fprintf(h, "%s:%s\n", s.file, sha)
	}
	return files, hex.EncodeToString(h.Sum(nil)), nil
}

// hash streams s's file and returns its checksum, or false when an
// optional file is absent. A UTF-8 file that is not valid UTF-8 is
// reported.
func (c *Connector) hash(s *schema) (string, bool, error) {
	f, err := c.open(s)
	if f == nil || err != nil {
		return "", false, err
	}
	defer f.Close()
	h, check := sha256.New(), &utf8Lines{}
	if _, err := io.CopyBuffer(io.MultiWriter(h, check), f, make([]byte, chunk)); err != nil {
		return "", false, fmt.Errorf("read %s: %w", s.file, err)
	}
	sha := c.checksum(h)
	// Text decoded from Windows-1252 is valid UTF-8; a file with a byte
	// order mark is UTF-8 whatever the Format says.
	utf8Text := c.Format.Encoding == UTF8 || bytes.HasPrefix(check.head, bom)
	if n := check.done(); n > 0 && utf8Text {
		c.warnOnce(c.badUTF, s.file, sha, "csv file is not valid UTF-8: if it was saved as Windows-1252 (Excel on Windows), set encoding: windows-1252",
			"file", s.file, "line", n)
	}
	return sha, true, nil
}

// openText starts reading raw, the content of s's file, parsing its
// header.
func (c *Connector) openText(s *schema, raw io.Reader) (*file, error) {
	text, err := c.Format.reader(raw)
	if err != nil {
		return nil, fmt.Errorf("decode %s as %v: %w", s.file, c.Format.Encoding, err)
	}
	return openFile(c.source, s, text, &c.Format, func(line int) (map[string]int, error) {
		return c.index(s, line)
	})
}

// index reads s's file again up to line and returns the ids of the rows
// accepted before it, with their line.
func (c *Connector) index(s *schema, line int) (map[string]int, error) {
	raw, err := c.open(s)
	if err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, fmt.Errorf("read %s: %w", s.file, fs.ErrNotExist)
	}
	defer raw.Close()
	f, err := c.openText(s, raw)
	if err != nil {
		return nil, err
	}
	return f.indexTo(line)
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

// checksum returns the SHA-256 of a file's content written to h, and of
// the Format unless it is the default, so that changing the Format reads
// the files again.
func (c *Connector) checksum(h hash.Hash) string {
	if fp := c.Format.fingerprint(); fp != "" {
		h.Write([]byte("\x00format:" + fp))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// utf8Lines finds the first line of a text written to it that is not
// valid UTF-8.
type utf8Lines struct {
	head    []byte // the first bytes, for a byte order mark
	line    int    // lines complete so far
	partial []byte // the start of the current line
	invalid int    // the first invalid line, or 0
}

func (u *utf8Lines) Write(p []byte) (int, error) {
	n := len(p)
	if len(u.head) < len(bom) {
		u.head = append(u.head, p[:min(len(p), len(bom)-len(u.head))]...)
	}
	for u.invalid == 0 && len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			u.partial = append(u.partial, p...)
			break
		}
		u.line++
		if !u.valid(p[:i]) {
			u.invalid = u.line
		}
		p, u.partial = p[i+1:], u.partial[:0]
	}
	return n, nil
}

// valid reports whether the current line, ending with end, is valid.
func (u *utf8Lines) valid(end []byte) bool {
	if len(u.partial) == 0 {
		return utf8.Valid(end)
	}
	u.partial = append(u.partial, end...)
	return utf8.Valid(u.partial)
}

// done returns the first line that is not valid UTF-8, or 0.
func (u *utf8Lines) done() int {
	if u.invalid == 0 && len(u.partial) > 0 && !utf8.Valid(u.partial) {
		u.invalid = u.line + 1
	}
	return u.invalid
}

// open opens s's file, or returns nil when an optional file is absent.
func (c *Connector) open(s *schema) (fs.File, error) {
	f, err := c.fsys.Open(s.file)
	switch {
	case err == nil:
		return f, nil
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
