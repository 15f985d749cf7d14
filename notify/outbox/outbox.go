// Package outbox is a notify.Sender that writes messages to files instead
// of sending them: one JSON line per message in email.jsonl or slack.jsonl.
// crmsync demo uses it, and so can a trial run or a test.
package outbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/crmsync/crmsync/notify"
)

var _ notify.Sender = (*Outbox)(nil)

// Outbox appends messages to JSON Lines files in a folder. It is safe for
// concurrent use, also by several processes sharing the folder.
type Outbox struct {
	dir string
	mu  sync.Mutex
}

// New returns an Outbox writing to dir, which it creates if needed.
func New(dir string) (*Outbox, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create outbox: %w", err)
	}
	return &Outbox{dir: dir}, nil
}

// Dir returns the folder the outbox writes to.
func (o *Outbox) Dir() string { return o.dir }

// Path returns the file that holds the messages of channel ch.
func (o *Outbox) Path(ch notify.Channel) string {
	return filepath.Join(o.dir, string(ch)+".jsonl")
}

// Writes reports that the outbox writes messages instead of sending them:
// crmsync records, counts and logs what it accepts as written, not sent.
func (o *Outbox) Writes() bool { return true }

// Send appends m as one JSON line to the file of its channel. The line is
// written with a single write to a file opened with O_APPEND, so lines of
// concurrent senders, even in other processes, never interleave. A message
// without a known channel is a permanent error.
func (o *Outbox) Send(ctx context.Context, m *notify.Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	if m == nil {
		return fmt.Errorf("outbox: nil message: %w", notify.ErrPermanent)
	}
	if m.Channel != notify.Email && m.Channel != notify.Slack {
		return fmt.Errorf("outbox: unknown channel %q: %w", m.Channel, notify.ErrPermanent)
	}
	line, err := encode(m)
	if err != nil {
		return fmt.Errorf("outbox: encode message: %w: %w", err, notify.ErrPermanent)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return appendLine(o.Path(m.Channel), line)
}

// encode returns m as one line of JSON ending in a newline. <, > and & are
// kept as they are, so the files are easy to read and grep.
func encode(m *notify.Message) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// appendLine writes line to the end of the file at path in one call.
func appendLine(path string, line []byte) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("outbox: %w", cerr)
		}
	}()
	if _, err := f.Write(line); err != nil {
		return fmt.Errorf("outbox: write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// Read returns the messages of a JSON Lines file written by an Outbox, in
// order. Blank lines are skipped; a line that is not a message is an error
// naming the file and the line number.
func Read(path string) ([]notify.Message, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	defer f.Close()
	var msgs []notify.Message
	r := bufio.NewReader(f)
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var m notify.Message
			if jerr := json.Unmarshal(line, &m); jerr != nil {
				return nil, fmt.Errorf("read outbox %s:%d: %w", path, n, jerr)
			}
			msgs = append(msgs, m)
		}
		if errors.Is(err, io.EOF) {
			return msgs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read outbox %s: %w", path, err)
		}
	}
}
