package slack

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// Blocks are written as JSON by hand: building slack-go's block structs
// and marshalling them by reflection, each nested element list compacted
// again by encoding/json, cost a pass most of the time it spent on a
// nudge. The JSON is what Slack's Block Kit reference documents, field for
// field as slack-go writes it, without HTML escaping (Slack does not need
// it, and it makes outbox files hard to read).

// blockList is a message's blocks as they are written: a JSON array.
type blockList struct {
	b []byte
	n int // blocks begun
}

// newBlockList returns an empty list with room for size bytes: about
// what its message takes, so that it is written without regrowing.
func newBlockList(size int) *blockList { return &blockList{b: make([]byte, 0, size)} }

// begin starts a block of type typ: its "type" field is written; the
// caller adds the others with a leading comma, then calls end.
func (l *blockList) begin(typ string) {
	if l.n == 0 {
		l.b = append(l.b, '[')
	} else {
		l.b = append(l.b, ',')
	}
	l.n++
	l.b = append(l.b, `{"type":`...)
	l.b = appendString(l.b, typ)
}

func (l *blockList) end() { l.b = append(l.b, '}') }

// raw appends s, JSON written by the caller.
func (l *blockList) raw(s string) { l.b = append(l.b, s...) }

// str appends s as a JSON string.
func (l *blockList) str(s string) { l.b = appendString(l.b, s) }

// field appends `,"key":"value"`.
func (l *blockList) field(key, value string) {
	l.b = append(l.b, ',', '"')
	l.b = append(l.b, key...)
	l.b = append(l.b, '"', ':')
	l.b = appendString(l.b, value)
}

// plain appends a plain_text object.
func (l *blockList) plain(s string, emoji bool) {
	l.raw(`{"type":"plain_text","text":`)
	l.str(s)
	l.raw(`,"emoji":`)
	l.b = strconv.AppendBool(l.b, emoji)
	l.raw("}")
}

// mrkdwn appends a mrkdwn object of at most max characters. Verbatim
// stops Slack from turning bare URLs and #names of CRM data into links.
func (l *blockList) mrkdwn(s string, max int) {
	l.raw(`{"type":"mrkdwn","text":`)
	l.str(truncate(s, max))
	l.raw(`,"verbatim":true}`)
}

// header appends a header block of plain text t.
func (l *blockList) header(t string) {
	l.begin("header")
	l.raw(`,"text":`)
	l.plain(truncate(t, maxHeader), true)
	l.end()
}

// section appends a section block holding the mrkdwn text s.
func (l *blockList) section(s string) {
	l.begin("section")
	l.raw(`,"text":`)
	l.mrkdwn(s, maxText)
	l.end()
}

// context appends a context block of one mrkdwn element.
func (l *blockList) context(s string) {
	l.begin("context")
	l.raw(`,"elements":[`)
	l.mrkdwn(s, maxText)
	l.raw("]")
	l.end()
}

// button is a button element: a link when url is set, an action
// otherwise (value and style optional).
type button struct {
	actionID, text, url, value, style string
}

// button appends the button element bt.
func (l *blockList) button(bt button) {
	l.raw(`{"type":"button","text":`)
	l.plain(bt.text, false)
	l.field("action_id", bt.actionID)
	for _, f := range [...][2]string{{"url", bt.url}, {"value", bt.value}, {"style", bt.style}} {
		if f[1] != "" {
			l.field(f[0], f[1])
		}
	}
	l.raw("}")
}

// actions appends an actions block of the buttons bts.
func (l *blockList) actions(bts ...button) {
	l.begin("actions")
	l.raw(`,"elements":[`)
	for i, bt := range bts {
		if i > 0 {
			l.raw(",")
		}
		l.button(bt)
	}
	l.raw("]")
	l.end()
}

// option is an option of an overflow menu; url makes it a link.
type option struct{ text, value, url string }

// overflow appends an overflow menu element of opts.
func (l *blockList) overflow(actionID string, opts []option) {
	l.raw(`{"type":"overflow"`)
	l.field("action_id", actionID)
	l.raw(`,"options":[`)
	for i, o := range opts {
		if i > 0 {
			l.raw(",")
		}
		l.raw(`{"text":`)
		l.plain(o.text, false)
		l.field("value", o.value)
		if o.url != "" {
			l.field("url", o.url)
		}
		l.raw("}")
	}
	l.raw("]}")
}

// json returns the blocks written: a JSON array.
func (l *blockList) json() json.RawMessage {
	if l.n == 0 {
		return json.RawMessage("[]")
	}
	return json.RawMessage(append(l.b, ']'))
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped as encoding/json does
// without HTML escaping: quotes, backslashes and control characters;
// invalid UTF-8 as U+FFFD; U+2028 and U+2029, which end a line in
// JavaScript.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
