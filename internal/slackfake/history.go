package slackfake

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Page sizes of conversations.history and conversations.list: Slack's
// defaults and maxima.
const (
	historyDefault, historyMax = 100, 999
	listDefault, listMax       = 100, 1000
)

// nextTS returns a message timestamp ("1700000000.000100") from the clock,
// later than every one given out before. The caller holds s.mu.
func (s *Server) nextTS() string {
	us := max(time.Now().UnixMicro(), s.lastTS+1)
	s.lastTS = us
	return formatTS(us)
}

func formatTS(us int64) string { return fmt.Sprintf("%d.%06d", us/1e6, us%1e6) }

// parseTS reads a Slack timestamp into microseconds; ok is false when it
// is not one.
func parseTS(ts string) (int64, bool) {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || len(frac) > 6 {
		return 0, false
	}
	f := int64(0)
	if frac != "" {
		if f, err = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64); err != nil {
			return 0, false
		}
	}
	return s*1e6 + f, true
}

// scopeFor is the scope conversations.history needs on c.
func scopeFor(c *conversation) string {
	switch {
	case strings.HasPrefix(c.id, "D"):
		return "im:history"
	case c.private:
		return "groups:history"
	}
	return "channels:history"
}

// history answers conversations.history: the channel's messages, newest
// first, between oldest and latest, a page at a time.
func (s *Server) history(p url.Values, scopes []string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.channels[p.Get("channel")]
	if c == nil || strings.HasPrefix(p.Get("channel"), "#") {
		return map[string]any{"ok": false, "error": "channel_not_found"}
	}
	if need := scopeFor(c); !slices.Contains(scopes, need) {
		return missingScope(need, scopes)
	}
	oldest, latest, errCode := historyRange(p)
	if errCode != "" {
		return map[string]any{"ok": false, "error": errCode}
	}
	inclusive := truthy(p.Get("inclusive"))
	var msgs []map[string]any
	for i := len(c.messages) - 1; i >= 0; i-- {
		m := c.messages[i]
		ts, _ := parseTS(m.TS)
		if ts > latest || ts == latest && !inclusive || ts < oldest || ts == oldest && !inclusive {
			continue
		}
		msgs = append(msgs, messageJSON(m, truthy(p.Get("include_all_metadata"))))
	}
	limit := pageSize(p.Get("limit"), historyDefault, historyMax)
	more := len(msgs) > limit
	next := ""
	if more {
		msgs = msgs[:limit]
		next = base64.StdEncoding.EncodeToString([]byte("next_ts:" + msgs[limit-1]["ts"].(string)))
	}
	return map[string]any{"ok": true, "messages": orEmpty(msgs), "has_more": more, "pin_count": 0,
		"response_metadata": map[string]any{"next_cursor": next}}
}

// historyRange reads oldest, latest and cursor (which continues below the
// ts it names) into a range of microseconds, or an error code.
func historyRange(p url.Values) (oldest, latest int64, code string) {
	oldest, latest = 0, time.Now().Add(time.Hour).UnixMicro()
	var ok bool
	if v := p.Get("oldest"); v != "" {
		if oldest, ok = parseTS(v); !ok {
			return 0, 0, "invalid_ts_oldest"
		}
	}
	if v := p.Get("latest"); v != "" {
		if latest, ok = parseTS(v); !ok {
			return 0, 0, "invalid_ts_latest"
		}
	}
	if cur := p.Get("cursor"); cur != "" {
		raw, err := base64.StdEncoding.DecodeString(cur)
		ts, found := strings.CutPrefix(string(raw), "next_ts:")
		at, valid := parseTS(ts)
		if err != nil || !found || !valid {
			return 0, 0, "invalid_cursor"
		}
		latest = min(latest, at-1)
	}
	return oldest, latest, ""
}

// messageJSON is a message as conversations.history shows it.
func messageJSON(m Post, metadata bool) map[string]any {
	out := map[string]any{"type": "message", "text": m.Text, "ts": m.TS, "user": m.User}
	if m.User == BotUser {
		out["bot_id"], out["app_id"] = "B0BOT", "A0CRMSYNC"
	}
	if metadata && m.Metadata != nil {
		out["metadata"] = map[string]any{"event_type": m.Metadata.EventType, "event_payload": m.Metadata.EventPayload}
	}
	return out
}

// list answers conversations.list: the named channels of the types asked
// for, a page at a time.
func (s *Server) list(p url.Values, scopes []string) map[string]any {
	types := strings.Split(p.Get("types"), ",")
	if p.Get("types") == "" {
		types = []string{"public_channel"}
	}
	want := map[bool]bool{}
	for _, t := range types {
		need := map[string]string{"public_channel": "channels:read", "private_channel": "groups:read"}[t]
		if need == "" {
			continue // im and mpim: never named
		}
		if !slices.Contains(scopes, need) {
			return missingScope(need, scopes)
		}
		want[t == "private_channel"] = true
	}
	s.mu.Lock()
	var all []*conversation
	for key, c := range s.channels {
		if c.name != "" && key == c.id && want[c.private] {
			all = append(all, c)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b *conversation) int { return strings.Compare(a.id, b.id) })
	start := 0
	if cur := p.Get("cursor"); cur != "" {
		raw, err := base64.StdEncoding.DecodeString(cur)
		n, found := strings.CutPrefix(string(raw), "offset:")
		if start, err = strconv.Atoi(n); err != nil || !found || start < 0 || start > len(all) {
			return map[string]any{"ok": false, "error": "invalid_cursor"}
		}
	}
	end := min(start+pageSize(p.Get("limit"), listDefault, listMax), len(all))
	chans := []map[string]any{}
	for _, c := range all[start:end] {
		chans = append(chans, map[string]any{"id": c.id, "name": c.name, "is_channel": !c.private,
			"is_group": c.private, "is_private": c.private, "is_archived": false, "is_member": true})
	}
	next := ""
	if end < len(all) {
		next = base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(end)))
	}
	return map[string]any{"ok": true, "channels": chans, "response_metadata": map[string]any{"next_cursor": next}}
}

// pageSize reads a limit argument: def when absent or invalid, at most max.
func pageSize(v string, def, max int) int {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return def
	}
	return min(n, max)
}

func truthy(v string) bool { return v == "1" || v == "true" }

func orEmpty(msgs []map[string]any) []map[string]any {
	if msgs == nil {
		return []map[string]any{}
	}
	return msgs
}
