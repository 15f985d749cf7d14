package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/crmsync/crmsync/notify"
)

// A channel copy names the account's owner with a placeholder,
// "<@crmsync:EMAIL|NAME>" (both query-escaped), that the Sender replaces
// with a real mention ("<@U123>") once it has found the owner's Slack
// account, or with the owner's name when there is none. CRM data cannot
// forge one: every CRM string is escaped before it reaches a message, so
// its "<" is "&lt;", and only this package writes a literal "<".

// mentionRE matches a placeholder; the escaped email and name contain no
// "|", "<", ">", quote or backslash.
var mentionRE = regexp.MustCompile(`<@crmsync:([^|<>"\\]*)\|([^|<>"\\]*)>`)

// mention is the placeholder naming the owner with email and name.
func mention(email, name string) string {
	return "<@crmsync:" + url.QueryEscape(strings.TrimSpace(email)) + "|" + url.QueryEscape(oneLine(name)) + ">"
}

// MentionOwner is the owner a placeholder names.
type MentionOwner struct {
	Email string // "" when the CRM has none
	Name  string
}

// NameMention is how a mention reads where no Slack account is known: the
// owner's name, escaped for mrkdwn (the email when there is no name).
func NameMention(o MentionOwner) string {
	if strings.TrimSpace(o.Name) != "" {
		return escapeName(o.Name)
	}
	return escapeName(o.Email)
}

// AtMention is how the outbox shows a mention: "@" and NameMention.
func AtMention(o MentionOwner) string { return "@" + NameMention(o) }

// Mentions returns the owners m's text and blocks mention, each once, in
// order of appearance.
func Mentions(m *notify.Message) ([]MentionOwner, error) {
	var out []MentionOwner
	seen := map[MentionOwner]bool{}
	collect := func(s string) string {
		for _, sub := range mentionRE.FindAllStringSubmatch(s, -1) {
			if o := owner(sub); !seen[o] {
				seen[o] = true
				out = append(out, o)
			}
		}
		return s
	}
	collect(m.Text)
	if _, err := mapStrings(m.Blocks, collect); err != nil {
		return nil, err
	}
	return out, nil
}

// ReplaceMentions replaces every placeholder in m's text and blocks with
// what with returns for its owner: mrkdwn such as "<@U123>" or
// NameMention. The blocks stay valid JSON whatever with returns.
func ReplaceMentions(m *notify.Message, with func(MentionOwner) string) error {
	replace := func(s string) string {
		return mentionRE.ReplaceAllStringFunc(s, func(p string) string {
			return with(owner(mentionRE.FindStringSubmatch(p)))
		})
	}
	blocks, err := mapStrings(m.Blocks, replace)
	if err != nil {
		return err
	}
	m.Text, m.Blocks = replace(m.Text), blocks
	return nil
}

// owner decodes the submatches of a placeholder.
func owner(sub []string) MentionOwner {
	email, _ := url.QueryUnescape(sub[1]) // our own encoding: cannot fail
	name, _ := url.QueryUnescape(sub[2])
	return MentionOwner{Email: email, Name: name}
}

// mapStrings returns the JSON raw with fn applied to every string under a
// "text" key: values, ids and URLs are left alone.
// Blocks that hold no placeholder are returned as they are; others are
// decoded, because JSON may write "<" as \u003c (an encoder escaping
// HTML, such as the one that queued the message).
func mapStrings(raw json.RawMessage, fn func(string) string) (json.RawMessage, error) {
	if len(raw) == 0 || !bytes.Contains(raw, []byte("@crmsync:")) {
		return raw, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("slack mentions: decode blocks: %w", err)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(walk("", v, fn)); err != nil {
		return nil, fmt.Errorf("slack mentions: encode blocks: %w", err)
	}
	return json.RawMessage(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), nil
}

// walk applies fn to every string of the decoded JSON v found under the
// key "text"; key is the key v is under.
func walk(key string, v any, fn func(string) string) any {
	switch v := v.(type) {
	case string:
		if key == "text" {
			return fn(v)
		}
	case []any:
		for i, e := range v {
			v[i] = walk(key, e, fn)
		}
	case map[string]any:
		for k, e := range v {
			v[k] = walk(k, e, fn)
		}
	}
	return v
}
