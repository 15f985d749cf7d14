package workers

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/crmsync/crmsync/notify"
)

// PreviewFlags are the flags a preview shows, in the order it found them,
// then the digests a pass would send. They live in a temporary file, not
// in memory: Each reads them back one at a time, as often as needed.
// Close removes the file.
type PreviewFlags struct {
	spool *flagSpool
}

// Each calls fn with each flag in order, stopping at fn's first error.
// Flags read back from the file carry their features as JSON numbers
// (float64), as the JSON output prints them.
func (pf *PreviewFlags) Each(fn func(Flag) error) error {
	return pf.spool.each(fn)
}

// Flags returns every flag, in memory.
func (pf *PreviewFlags) Flags() ([]Flag, error) {
	var out []Flag
	err := pf.Each(func(f Flag) error {
		out = append(out, f)
		return nil
	})
	return out, err
}

// Close removes the flags' file; it may be called more than once.
func (pf *PreviewFlags) Close() error { return pf.spool.close() }

// flagSpool keeps a preview's flags in a temporary file, one JSON line
// each, with what the per_pass stage changes on them.
type flagSpool struct {
	file    *os.File
	w       *bufio.Writer
	enc     *json.Encoder       // to w
	n       int                 // flags written
	adjust  map[int]*flagAdjust // by position, the flags per_pass changes
	digests []Flag              // one per recipient: few, kept in memory
	zones   map[string]*time.Location
}

// flagAdjust is what the per_pass stage changes on one flag: the messages
// it does not send, the holds it adds, and whether the whole match is
// deferred (its messages move to Deferred).
type flagAdjust struct {
	drop     []string // ledger keys
	holds    []string
	deferred bool
}

// spooled is a flag as the spool writes it, with the time zone of each
// message's NotBefore, which JSON keeps only as an offset.
type spooled struct {
	Flag
	Zones         []string `json:"zones,omitempty"`
	DeferredZones []string `json:"deferred_zones,omitempty"`
}

func newFlagSpool() (*flagSpool, error) {
	f, err := os.CreateTemp("", "crmsync-preview-*.jsonl")
	if err != nil {
		return nil, fmt.Errorf("spooling flags: %w", err)
	}
	s := &flagSpool{file: f, w: bufio.NewWriterSize(f, 64<<10), adjust: map[int]*flagAdjust{}, zones: map[string]*time.Location{}}
	s.enc = json.NewEncoder(s.w)
	s.enc.SetEscapeHTML(false)
	return s, nil
}

// add writes fl at the end of the spool, as one line. HTML is not
// escaped: a message's raw Slack blocks must read back byte for byte.
func (s *flagSpool) add(fl *Flag) error {
	if err := s.enc.Encode(spooled{Flag: *fl, Zones: zonesOf(fl.Messages), DeferredZones: zonesOf(fl.Deferred)}); err != nil {
		return fmt.Errorf("spooling flags: %w", err)
	}
	s.n++
	return nil
}

func (s *flagSpool) flush() error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("spooling flags: %w", err)
	}
	return nil
}

// each reads the flags back in order, with per_pass's changes, then the
// digests.
func (s *flagSpool) each(fn func(Flag) error) error {
	if s.file == nil {
		return errors.New("preview flags: closed")
	}
	next, err := s.reader(64 << 10)
	if err != nil {
		return err
	}
	for i := range s.n {
		fl, _, err := next()
		if err != nil {
			return err
		}
		if adj := s.adjust[i]; adj != nil {
			adj.apply(&fl)
		}
		if err := fn(fl); err != nil {
			return err
		}
	}
	for _, fl := range s.digests {
		if err := fn(fl); err != nil {
			return err
		}
	}
	return nil
}

// apply changes fl as the per_pass stage decided.
func (adj *flagAdjust) apply(fl *Flag) {
	all := fl.Messages
	if len(adj.drop) > 0 {
		fl.Messages = slices.DeleteFunc(slices.Clone(all), func(m notify.Message) bool { return slices.Contains(adj.drop, m.LedgerKey) })
	}
	fl.HeldBack = append(fl.HeldBack, adj.holds...)
	if adj.deferred {
		fl.Deferred = all
	}
}

func (s *flagSpool) close() error {
	if s.file == nil {
		return nil
	}
	name := s.file.Name()
	err := s.file.Close()
	s.file = nil
	return errors.Join(err, os.Remove(name))
}

// zonesOf returns the location name of each message's NotBefore, nil
// when every one is UTC or zero.
func zonesOf(msgs []notify.Message) []string {
	var out []string
	for i, m := range msgs {
		if m.NotBefore.IsZero() || m.NotBefore.Location() == time.UTC {
			continue
		}
		if out == nil {
			out = make([]string, len(msgs))
		}
		out[i] = m.NotBefore.Location().String()
	}
	return out
}

// restoreZones puts each message's NotBefore back in its location, so that
// it prints its zone's name ("CET"), not only its offset.
func (s *flagSpool) restoreZones(msgs []notify.Message, zones []string) {
	for i, name := range zones {
		if name == "" || i >= len(msgs) {
			continue
		}
		loc, ok := s.zones[name]
		if !ok {
			loc, _ = time.LoadLocation(name) // nil for a zone without a name: the offset stays
			s.zones[name] = loc
		}
		if loc != nil {
			msgs[i].NotBefore = msgs[i].NotBefore.In(loc)
		}
	}
}

// slimCandidate returns what the per_pass stage reads of c: its rank,
// digests and folds, and of its messages the channel, recipient and
// ledger key, without their bodies.
func slimCandidate(c *candidate) *candidate {
	out := *c
	out.Msgs = make([]notify.Message, len(c.Msgs))
	for i, m := range c.Msgs {
		out.Msgs[i] = notify.Message{LedgerKey: m.LedgerKey, Channel: m.Channel, To: m.To}
	}
	return &out
}

// sortChunk is how many flags EachSorted sorts in memory at a time.
const sortChunk = 2048

// EachSorted calls fn with the flags keep selects, in cmp's order, holding
// at most sortChunk of them in memory: beyond that, it sorts them by
// chunks into temporary files and merges those.
func (pf *PreviewFlags) EachSorted(keep func(*Flag) bool, cmp func(a, b *Flag) int, fn func(Flag) error) error {
	var chunk []Flag
	var runs []*flagSpool
	defer func() {
		for _, r := range runs {
			r.close()
		}
	}()
	cut := func() error {
		slices.SortStableFunc(chunk, func(a, b Flag) int { return cmp(&a, &b) })
		r, err := newFlagSpool()
		if err != nil {
			return err
		}
		runs = append(runs, r)
		for i := range chunk {
			if err := r.add(&chunk[i]); err != nil {
				return err
			}
		}
		chunk = chunk[:0]
		return r.flush()
	}
	err := pf.Each(func(f Flag) error {
		if !keep(&f) {
			return nil
		}
		if chunk = append(chunk, f); len(chunk) == sortChunk {
			return cut()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		slices.SortStableFunc(chunk, func(a, b Flag) int { return cmp(&a, &b) })
		for _, f := range chunk {
			if err := fn(f); err != nil {
				return err
			}
		}
		return nil
	}
	if len(chunk) > 0 {
		if err := cut(); err != nil {
			return err
		}
	}
	return mergeRuns(runs, cmp, fn)
}

// mergeRuns calls fn with the flags of sorted runs in cmp's order, ties
// in run order.
func mergeRuns(runs []*flagSpool, cmp func(a, b *Flag) int, fn func(Flag) error) error {
	next := make([]func() (Flag, bool, error), len(runs))
	heads := make([]*Flag, len(runs))
	for i, r := range runs {
		var err error
		if next[i], err = r.reader(16 << 10); err != nil {
			return err
		}
	}
	advance := func(i int) error {
		f, ok, err := next[i]()
		heads[i] = nil
		if ok {
			heads[i] = &f
		}
		return err
	}
	for i := range runs {
		if err := advance(i); err != nil {
			return err
		}
	}
	for {
		min := -1
		for i, h := range heads {
			if h != nil && (min < 0 || cmp(h, heads[min]) < 0) {
				min = i
			}
		}
		if min < 0 {
			return nil
		}
		if err := fn(*heads[min]); err != nil {
			return err
		}
		if err := advance(min); err != nil {
			return err
		}
	}
}

// reader returns a function reading the spool's flags one at a time, as
// written (without per_pass's changes nor the digests).
func (s *flagSpool) reader(buf int) (func() (Flag, bool, error), error) {
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("reading spooled flags: %w", err)
	}
	dec := json.NewDecoder(bufio.NewReaderSize(s.file, buf))
	left := s.n
	return func() (Flag, bool, error) {
		if left == 0 {
			return Flag{}, false, nil
		}
		left--
		var sp spooled
		if err := dec.Decode(&sp); err != nil {
			return Flag{}, false, fmt.Errorf("reading spooled flags: %w", err)
		}
		s.restoreZones(sp.Flag.Messages, sp.Zones)
		s.restoreZones(sp.Flag.Deferred, sp.DeferredZones)
		return sp.Flag, true, nil
	}, nil
}
