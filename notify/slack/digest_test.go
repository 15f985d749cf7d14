package slack

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestRenderDigest(t *testing.T) {
	var entries []DigestEntry
	for i := range 32 {
		entries = append(entries, DigestEntry{
			AccountID: fmt.Sprintf("crm:%d", i), AccountName: fmt.Sprintf("Acme %d", i),
			URL: "https://crm.example/a/" + fmt.Sprint(i), Line: Escape("<!channel> Acme") + fmt.Sprintf(" has been quiet for %d days.", 90+i),
		})
	}
	parts, err := RenderDigest("inactive-90-days", "info", entries)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 3 {
		t.Fatalf("%d parts for 32 entries, want 3 of at most %d", len(parts), DigestEntriesPerMessage)
	}
	seen := 0
	for i, p := range parts {
		var blocks []map[string]any
		if err := json.Unmarshal(p.Blocks, &blocks); err != nil {
			t.Fatal(err)
		}
		if len(blocks) > 50 {
			t.Errorf("part %d has %d blocks, Slack allows 50", i, len(blocks))
		}
		if !strings.Contains(p.Fallback, "32 of your clients need attention") {
			t.Errorf("part %d fallback %q lacks the total", i, p.Fallback)
		}
		seen += strings.Count(string(p.Blocks), `"action_id":"`+ActionSnooze+`"`)
		if strings.Contains(string(p.Blocks), "<!channel>") {
			t.Errorf("part %d carries a live <!channel>", i)
		}
	}
	if seen != 32 {
		t.Errorf("%d accounts with buttons across parts, want 32", seen)
	}
	one, _ := RenderDigest("r", "critical", entries[:1])
	if len(one) != 1 || !strings.Contains(one[0].Fallback, "1 of your clients needs attention") {
		t.Errorf("single entry digest = %+v", one)
	}
	if none, _ := RenderDigest("r", "info", nil); len(none) != 0 {
		t.Errorf("an empty digest rendered %d messages", len(none))
	}
}
