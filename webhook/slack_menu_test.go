package webhook

import (
	"encoding/json"
	"net/url"
	"reflect"
	"testing"
	"time"

	nslack "github.com/crmsync/crmsync/notify/slack"
)

// menuBody is the form body of a block_actions choice in a digest's
// overflow menu: the action carries the chosen option, not a value.
func menuBody(t *testing.T, option string) string {
	t.Helper()
	payload, err := json.Marshal(map[string]any{
		"type":      "block_actions",
		"user":      map[string]string{"id": "U1", "username": "ann", "name": "ann", "team_id": "T1"},
		"container": map[string]any{"type": "message", "message_ts": "1700000000.000100", "channel_id": "C123"},
		"actions": []map[string]any{{
			"action_id": nslack.ActionMenu, "block_id": "b1", "type": "overflow", "action_ts": "1700000001.000200",
			"selected_option": map[string]any{"text": map[string]any{"type": "plain_text", "text": "x"}, "value": option},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return url.Values{"payload": {string(payload)}}.Encode()
}

func TestSlackDigestMenu(t *testing.T) {
	tests := []struct {
		name   string
		option string
		want   []Action
	}{
		{"snooze", nslack.MenuValue(ActionSnooze, "acc-42", "quiet"),
			[]Action{{Kind: KindSnooze, AccountID: "acc-42", Rule: "quiet", UserID: "U1", UserName: "ann"}}},
		{"mark as contacted", nslack.MenuValue(ActionContacted, "acc-42", "quiet"),
			[]Action{{Kind: KindContacted, AccountID: "acc-42", Rule: "quiet", UserID: "U1", UserName: "ann"}}},
		{"view in CRM", nslack.MenuValue(nslack.ActionOpenCRM, "acc-42", "quiet"), nil},
		{"unreadable option", "snooze", nil},
		{"a button's value without the action", nslack.ButtonValue("acc-42", "quiet"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSlackFixture()
			ts := time.Now().Add(-30 * time.Second)
			if w := f.serve(slackRequest(t, testSigningSecret, menuBody(t, tt.option), ts)); w.Code != 200 {
				t.Fatalf("answer = %d", w.Code)
			}
			for i := range tt.want {
				tt.want[i].At = time.Unix(ts.Unix(), 0).UTC()
			}
			if !reflect.DeepEqual(f.q.actions, tt.want) {
				t.Errorf("actions:\n got %+v\nwant %+v", f.q.actions, tt.want)
			}
		})
	}
}
