package slackfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// lookup answers users.lookupByEmail.
func (s *Server) lookup(email string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups++
	u, ok := s.users[strings.ToLower(email)]
	if !ok {
		return map[string]any{"ok": false, "error": "users_not_found"}
	}
	return map[string]any{"ok": true, "user": map[string]any{
		"id": u.id, "deleted": u.deleted, "profile": map[string]any{"email": email},
	}}
}

// open answers conversations.open with the DM channel of one user.
func (s *Server) open(users string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opens++
	for _, u := range s.users {
		if u.id == users && !u.deleted {
			s.conversation(DM(u.id), "", true)
			return map[string]any{"ok": true, "channel": map[string]any{"id": DM(u.id)}}
		}
	}
	return map[string]any{"ok": false, "error": "user_not_found"}
}

// postMessage answers chat.postMessage: a 429 when the channel is rate
// limited, else an error code about the channel or the content, else the
// accepted post's ts.
func (s *Server) postMessage(w http.ResponseWriter, p url.Values) {
	after, limited, body := s.post(p)
	if limited {
		tooMany(w, after)
		return
	}
	answer(w, body)
}

// post decides about one chat.postMessage call and accepts the post when
// it may: the content is checked before taking the lock, the rest under
// it, so that a channel's pace holds between concurrent posts. It returns
// the Retry-After of a 429, or the answer.
func (s *Server) post(p url.Values) (time.Duration, bool, map[string]any) {
	ch := p.Get("channel")
	msg, code := validate(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts[ch]++
	after, limited := s.limits[ch]
	if !limited {
		after, limited = s.paced(ch, time.Now())
	}
	conv := s.channels[ch]
	switch {
	case limited:
		s.limited[ch]++
		return after, true, nil
	case s.codes[ch] != "":
		code = s.codes[ch]
	case conv == nil:
		code = "channel_not_found"
	}
	if code != "" {
		return 0, false, map[string]any{"ok": false, "error": code}
	}
	s.lastPost[ch] = time.Now()
	return 0, false, map[string]any{"ok": true, "channel": conv.id, "ts": s.accept(conv, msg)}
}

// paced reports whether a post to ch at now comes too soon after its
// latest accepted one (see SetPostRate), and then the Retry-After to
// answer. The caller holds s.mu.
func (s *Server) paced(ch string, now time.Time) (time.Duration, bool) {
	last, ok := s.lastPost[ch]
	if s.every <= 0 || !ok {
		return 0, false
	}
	left := last.Add(s.every).Sub(now)
	if left <= 0 {
		return 0, false
	}
	return max(time.Second, (left+time.Second-1)/time.Second*time.Second), true
}

// accept counts msg under its key, adds it to the history of conv and
// records it; it returns its ts. The caller holds s.mu.
func (s *Server) accept(conv *conversation, msg Post) string {
	msg.TS = s.nextTS()
	s.keys[Key{Channel: msg.Channel, Text: msg.Text}]++
	if s.record {
		msg.User = BotUser
		conv.messages = append(conv.messages, Post{Channel: conv.id, Text: msg.Text, Metadata: msg.Metadata, TS: msg.TS, User: BotUser})
		s.posts = append(s.posts, msg)
	}
	return msg.TS
}

// validate checks a post's content like Slack and returns it, or an error
// code.
func validate(p url.Values) (Post, string) {
	msg := Post{
		Channel: p.Get("channel"), Text: p.Get("text"), RawBlocks: p.Get("blocks"),
		UnfurlLinks: p.Get("unfurl_links"), UnfurlMedia: p.Get("unfurl_media"),
	}
	switch {
	case msg.Text == "" && msg.RawBlocks == "":
		return msg, "no_text"
	case utf8.RuneCountInString(msg.Text) > 40000:
		return msg, "msg_too_long"
	}
	if raw := p.Get("metadata"); raw != "" {
		msg.Metadata = &Metadata{}
		if err := json.Unmarshal([]byte(raw), msg.Metadata); err != nil || msg.Metadata.EventType == "" {
			return msg, "invalid_metadata_format"
		}
	}
	if msg.RawBlocks == "" {
		return msg, ""
	}
	if err := json.Unmarshal([]byte(msg.RawBlocks), &msg.Blocks); err != nil || checkBlocks(msg.Blocks) != nil {
		return msg, "invalid_blocks"
	}
	return msg, ""
}

// blockTextLimits are the longest texts of the block types crmsync uses.
var blockTextLimits = map[string]int{"section": 3000, "header": 150}

// checkBlocks applies Slack's Block Kit limits that crmsync's blocks meet.
func checkBlocks(blocks []any) error {
	if len(blocks) > 50 {
		return fmt.Errorf("%d blocks", len(blocks))
	}
	for i, b := range blocks {
		m, ok := b.(map[string]any)
		typ, _ := m["type"].(string)
		if !ok || typ == "" {
			return fmt.Errorf("block %d: not an object with a type", i)
		}
		limit := blockTextLimits[typ]
		if text, _ := m["text"].(map[string]any); limit > 0 && text != nil {
			s, _ := text["text"].(string)
			if utf8.RuneCountInString(s) > limit {
				return fmt.Errorf("block %d: text over %d", i, limit)
			}
		}
	}
	return nil
}
