package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// maxDetail caps the SendGrid text copied into a suppression reason.
const maxDetail = 200

// event is the part of a SendGrid event that suppressions need.
type event struct {
	Email      string `json:"email"`
	Event      string `json:"event"`
	Timestamp  number `json:"timestamp"` // Unix seconds
	SGEventID  string `json:"sg_event_id"`
	Type       string `json:"type"` // bounce: "bounce" (hard) or "blocked"
	Reason     string `json:"reason"`
	Status     string `json:"status"`
	ASMGroupID number `json:"asm_group_id"`

	raw json.RawMessage
}

// number is a JSON number that tolerates a numeric string and decodes
// anything else as 0, so that an odd field never drops an unsubscribe.
type number int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *number) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(strings.Trim(string(b), `"`), 64)
	if err != nil || f < 0 || f > math.MaxInt64 {
		*n = 0
		return nil
	}
	*n = number(f)
	return nil
}

// counts summarises a batch for the log: numbers, never addresses.
type counts struct {
	events, suppressed, duplicates, ignored, malformed int
}

// attrs are the log attributes of c.
func (c counts) attrs() []any {
	return []any{"events", c.events, "suppressed", c.suppressed,
		"duplicates", c.duplicates, "ignored", c.ignored, "malformed", c.malformed}
}

// decodeBatch splits the JSON array SendGrid posts into its events.
func decodeBatch(body []byte) ([]json.RawMessage, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, fmt.Errorf("decode sendgrid events: %w", err)
	}
	return raws, nil
}

// process suppresses the addresses of the events that call for it. It stops
// at the first store error: SendGrid then retries the whole batch, and the
// events already processed are dropped as duplicates.
func (h *SendGrid) process(ctx context.Context, raws []json.RawMessage) (counts, error) {
	var c counts
	for _, raw := range raws {
		c.events++
		var e event
		if err := json.Unmarshal(raw, &e); err != nil {
			c.malformed++
			continue
		}
		e.raw = raw
		reason, ok := suppression(e)
		switch {
		case !ok:
			c.ignored++
			continue
		case strings.TrimSpace(e.Email) == "":
			c.malformed++
			continue
		}
		first, err := h.suppress(ctx, e, reason)
		if err != nil {
			return c, err
		}
		if first {
			c.suppressed++
		} else {
			c.duplicates++
		}
	}
	return c, nil
}

// suppress claims e and suppresses its address, unless e was already
// claimed. A failed suppression releases the claim.
func (h *SendGrid) suppress(ctx context.Context, e event, reason string) (bool, error) {
	key := dedupeKey(e)
	first, err := h.deduper.FirstSeen(ctx, key, SendGridDedupeTTL)
	if err != nil {
		return false, fmt.Errorf("sendgrid event %s: %w", e.Event, err)
	}
	if !first {
		return false, nil
	}
	if err := h.suppressor.Suppress(ctx, strings.TrimSpace(e.Email), reason, h.eventTime(e)); err != nil {
		forget(ctx, h.deduper, key, h.logger)
		return false, fmt.Errorf("sendgrid event %s: %w", e.Event, err)
	}
	return true, nil
}

// eventTime is when e happened, or now when SendGrid did not say.
func (h *SendGrid) eventTime(e event) time.Time {
	if e.Timestamp <= 0 {
		return h.Now().UTC()
	}
	return time.Unix(int64(e.Timestamp), 0).UTC()
}

// dedupeKey is "sg:" and the event's sg_event_id, or a hash of the raw
// event when it has none.
func dedupeKey(e event) string {
	if id := strings.TrimSpace(e.SGEventID); id != "" {
		return "sg:" + id
	}
	sum := sha256.Sum256(e.raw)
	return "sg:sha256:" + hex.EncodeToString(sum[:])
}

// suppression is the reason to suppress the address of e, and whether e
// calls for one at all. Soft failures (blocked bounces, deferrals) and
// engagement events do not.
func suppression(e event) (string, bool) {
	switch e.Event {
	case "unsubscribe", "spamreport":
		return "sendgrid: " + e.Event, true
	case "group_unsubscribe":
		return fmt.Sprintf("sendgrid: group_unsubscribe (asm_group_id %d)", e.ASMGroupID), true
	case "bounce":
		if e.Type != "" && e.Type != "bounce" {
			return "", false // "blocked": a soft, temporary refusal
		}
		return "sendgrid: bounce" + details(e.Status, e.Reason), true
	case "dropped":
		if !droppedForRecipient(e.Reason) {
			return "", false
		}
		return "sendgrid: dropped" + details("", e.Reason), true
	}
	return "", false
}

// droppedForRecipient reports whether a drop reason says the recipient is
// on a SendGrid suppression list ("Bounced Address", "Unsubscribed Address",
// "Spam Reporting Address"), not that the message was at fault ("Spam
// Content", "Invalid SMTPAPI header").
func droppedForRecipient(reason string) bool {
	r := strings.ToLower(reason)
	return strings.Contains(r, "bounced") || strings.Contains(r, "unsubscribed") ||
		strings.Contains(r, "spam report")
}

// details is " (status: reason)" with SendGrid's text cleaned and capped,
// or "" when both are empty.
func details(status, reason string) string {
	status, reason = clean(status), clean(reason)
	switch {
	case status == "" && reason == "":
		return ""
	case status == "":
		return " (" + reason + ")"
	case reason == "":
		return " (" + status + ")"
	}
	return " (" + status + ": " + reason + ")"
}

// clean turns control characters into spaces, collapses spaces and caps s
// at maxDetail runes.
func clean(s string) string {
	s = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)), " ")
	if r := []rune(s); len(r) > maxDetail {
		return string(r[:maxDetail]) + "…"
	}
	return s
}
