package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/waitfor"
	"github.com/crmsync/crmsync/notify/slack"
)

// TestWebhooksEndToEnd posts a signed Slack click and a signed SendGrid
// event batch to the HTTP server of `crmsync run`: the click is done on
// the queue (the account's rule is snoozed), the unsubscribe becomes a
// suppression, and unsigned requests change nothing.
func TestWebhooksEndToEnd(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	dir := t.TempDir()
	path, err := PrepareDemo(dir)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	b := strings.Replace(mustRead(t, path), "    reply_to_owner: true", "    reply_to_owner: true\n    webhook_public_key: "+base64.StdEncoding.EncodeToString(der), 1)
	b = strings.Replace(b, "    fallback_channel: \"#sales-alerts\"", "    fallback_channel: \"#sales-alerts\"\n    signing_secret: "+secret, 1)
	mustWrite(t, path, b)
	a := startApp(t, loadConfig(t, path))
	srv := httptest.NewServer(a.HTTPHandler())
	defer srv.Close()
	ctx := t.Context()

	// A rep clicks "Snooze 30 days" on a nudge about sample:A00042.
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions",
		"user": map[string]any{"id": "U1", "username": "sofia"},
		"actions": []map[string]any{{
			"action_id": slack.ActionSnooze, "block_id": "b1", "type": "button",
			"value": slack.ButtonValue("sample:A00042", "high-value-churning"),
		}},
	})
	form := url.Values{"payload": {string(payload)}}.Encode()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":" + form))
	post := func(path, body string, headers map[string]string) int {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	slackHeaders := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + hex.EncodeToString(mac.Sum(nil))}
	if code := post("/slack/interactions", form, map[string]string{"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=00"}); code != http.StatusUnauthorized {
		t.Fatalf("unsigned click: %d, want 401", code)
	}
	if code := post("/slack/interactions", form, slackHeaders); code != http.StatusOK {
		t.Fatalf("signed click: %d, want 200", code)
	}
	waitfor.Until(t, 30*time.Second, "the click to snooze the account", func() (bool, string) {
		_, ok, err := a.Store.Passes.Snoozed(ctx, "high-value-churning", "sample:A00042")
		return err != nil || ok, fmt.Sprintf("snoozed %v, %v", ok, err)
	})

	// SendGrid reports an unsubscribe.
	events := `[{"email":"Quit@Example.com","timestamp":1764000000,"event":"unsubscribe","sg_event_id":"e1"}]`
	stamp := strconv.FormatInt(time.Now().Unix(), 10)
	sum := sha256.Sum256([]byte(stamp + events))
	sig, _ := ecdsa.SignASN1(rand.Reader, priv, sum[:])
	sgHeaders := map[string]string{"X-Twilio-Email-Event-Webhook-Timestamp": stamp, "X-Twilio-Email-Event-Webhook-Signature": base64.StdEncoding.EncodeToString(sig)}
	if code := post("/webhooks/sendgrid", strings.Replace(events, "e1", "e2", 1), sgHeaders); code != http.StatusForbidden {
		t.Fatalf("tampered batch: %d, want 403", code)
	}
	if code := post("/webhooks/sendgrid", events, sgHeaders); code != http.StatusOK {
		t.Fatalf("signed batch: %d, want 200", code)
	}
	if reason, ok, err := a.Store.Suppressions.Suppressed(ctx, "quit@example.com"); err != nil || !ok || !strings.Contains(reason, "unsubscribe") {
		t.Fatalf("Suppressed = %q, %v, %v; want the unsubscribe", reason, ok, err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustWrite(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
