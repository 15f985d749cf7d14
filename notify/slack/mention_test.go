package slack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
)

// TestReplaceMentionsForTheOutbox: where no Slack workspace resolves the
// placeholders (the outbox), they read "@" and the owner's name.
func TestReplaceMentionsForTheOutbox(t *testing.T) {
	d := localized(normalData(), "en")
	d.Owner = &model.Owner{Name: "Sam <b>Rep</b>", Email: "sam@example.com"}
	text, blocks := renderFor(t, d, "", ToChannel)
	// The queue's JSON writes < as \u003c: the placeholders are still found.
	queued, _ := json.Marshal(notify.Message{Text: text, Blocks: blocks})
	var m notify.Message
	if err := json.Unmarshal(queued, &m); err != nil {
		t.Fatal(err)
	}
	owners, err := Mentions(&m)
	if err != nil || len(owners) != 1 || owners[0] != (MentionOwner{Email: "sam@example.com", Name: "Sam <b>Rep</b>"}) {
		t.Fatalf("Mentions = %+v, %v", owners, err)
	}
	if err := ReplaceMentions(&m, AtMention); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(texts(t, m.Blocks), "\n")
	if !strings.Contains(got, "*Owner*\n@Sam &lt;b&gt;Rep&lt;/b&gt;") || strings.Contains(got, "@crmsync:") {
		t.Errorf("blocks after ReplaceMentions: %s", got)
	}
	if err := ReplaceMentions(&notify.Message{Blocks: json.RawMessage(`[{"text":"<@crmsync:a|b>"`)}, AtMention); err == nil {
		t.Error("broken blocks: no error")
	}
}
