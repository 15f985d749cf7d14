package webhook

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"
)

var sgNow = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)

// sgSigner signs requests the way SendGrid does.
type sgSigner struct {
	priv   *ecdsa.PrivateKey
	pubB64 string // base64 of the DER PKIX public key, as SendGrid shows it
}

func newSGSigner(t *testing.T) sgSigner {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return sgSigner{priv: priv, pubB64: pubBase64(t, &priv.PublicKey)}
}

func pubBase64(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// sign is base64(ASN.1 DER(ECDSA(sha256(timestamp || body)))).
func (s sgSigner) sign(t *testing.T, ts string, body []byte) string {
	t.Helper()
	sum := sha256.Sum256(append([]byte(ts), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, s.priv, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// request is a signed POST of body at ts.
func (s sgSigner) request(t *testing.T, body string, ts time.Time) *http.Request {
	t.Helper()
	stamp := strconv.FormatInt(ts.Unix(), 10)
	r := httptest.NewRequest(http.MethodPost, "/webhooks/sendgrid", strings.NewReader(body))
	r.Header.Set(eventwebhook.TimestampHTTPHeader, stamp)
	r.Header.Set(eventwebhook.VerificationHTTPHeader, s.sign(t, stamp, []byte(body)))
	return r
}

type sgFixture struct {
	h *SendGrid
	s *memSuppressor
	d *memDeduper
}

func newSGFixture(t *testing.T, pubB64 string) sgFixture {
	t.Helper()
	f := sgFixture{s: &memSuppressor{}, d: newMemDeduper()}
	h, err := NewSendGrid(pubB64, f.s, f.d, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.Now = func() time.Time { return sgNow }
	f.h = h
	return f
}

func (f sgFixture) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

func TestSignerMatchesEventWebhookHelper(t *testing.T) {
	s := newSGSigner(t)
	pub, err := eventwebhook.ConvertPublicKeyBase64ToECDSA(s.pubB64)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`[{"event":"open"}]` + "\r\n")
	ok, err := eventwebhook.VerifySignature(pub, body, s.sign(t, "1600112502", body), "1600112502")
	if err != nil || !ok {
		t.Fatalf("VerifySignature = %v, %v; want true, nil", ok, err)
	}
}

const mixedBatch = `[
 {"email":"unsub@example.com","event":"unsubscribe","timestamp":1741950000,"sg_event_id":"e-unsub"},
 {"email":"group@example.com","event":"group_unsubscribe","asm_group_id":1234,"timestamp":1741950001,"sg_event_id":"e-group"},
 {"email":"spam@example.com","event":"spamreport","timestamp":1741950002,"sg_event_id":"e-spam"},
 {"email":"hard@example.com","event":"bounce","type":"bounce","status":"5.1.1","reason":"550 5.1.1 user unknown","timestamp":1741950003,"sg_event_id":"e-bounce"},
 {"email":"soft@example.com","event":"bounce","type":"blocked","status":"4.0.0","reason":"421 try later","timestamp":1741950004,"sg_event_id":"e-blocked"},
 {"email":"dropped@example.com","event":"dropped","reason":"Bounced Address","timestamp":1741950005,"sg_event_id":"e-drop"},
 {"email":"content@example.com","event":"dropped","reason":"Spam Content (if spam checker app enabled)","timestamp":1741950006,"sg_event_id":"e-drop-content"},
 {"email":"ok@example.com","event":"delivered","timestamp":1741950007,"sg_event_id":"e-delivered"},
 {"email":"ok@example.com","event":"open","timestamp":1741950008,"sg_event_id":"e-open"},
 {"email":"ok@example.com","event":"click","timestamp":1741950009,"sg_event_id":"e-click"},
 {"email":"ok@example.com","event":"processed","timestamp":1741950010,"sg_event_id":"e-processed"},
 {"email":"ok@example.com","event":"deferred","timestamp":1741950011,"sg_event_id":"e-deferred"},
 {"email":"unsub@example.com","event":"unsubscribe","timestamp":1741950000,"sg_event_id":"e-unsub"},
 {"email":"noid@example.com","event":"spamreport","timestamp":1741950012},
 {"email":"noid@example.com","event":"spamreport","timestamp":1741950012},
 {"event":"unsubscribe","timestamp":1741950013,"sg_event_id":"e-noemail"},
 {"email":"odd@example.com","event":"unsubscribe","timestamp":"yesterday","asm_group_id":null,"sg_event_id":"e-odd"},
 {"email":"str@example.com","event":"group_unsubscribe","timestamp":"1741950014","asm_group_id":"77","sg_event_id":"e-str"},
 {"email":["not","a","string"],"event":"unsubscribe","sg_event_id":"e-bad"},
 "not an event"
]`

func TestSendGridSuppressesMixedBatch(t *testing.T) {
	s := newSGSigner(t)
	f := newSGFixture(t, s.pubB64)
	var logs bytes.Buffer
	f.h.logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if w := f.serve(s.request(t, mixedBatch, sgNow)); w.Code != http.StatusOK {
		t.Fatalf("status = %d (%s); want 200", w.Code, w.Body)
	}
	at := func(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
	want := []suppressed{
		{"unsub@example.com", "sendgrid: unsubscribe", at(1741950000)},
		{"group@example.com", "sendgrid: group_unsubscribe (asm_group_id 1234)", at(1741950001)},
		{"spam@example.com", "sendgrid: spamreport", at(1741950002)},
		{"hard@example.com", "sendgrid: bounce (5.1.1: 550 5.1.1 user unknown)", at(1741950003)},
		{"dropped@example.com", "sendgrid: dropped (Bounced Address)", at(1741950005)},
		{"noid@example.com", "sendgrid: spamreport", at(1741950012)},
		{"odd@example.com", "sendgrid: unsubscribe", sgNow},
		{"str@example.com", "sendgrid: group_unsubscribe (asm_group_id 77)", at(1741950014)},
	}
	if !reflect.DeepEqual(f.s.calls, want) {
		t.Errorf("suppressions:\n got %+v\nwant %+v", f.s.calls, want)
	}
	if got := logs.String(); strings.Contains(got, "@") || !strings.Contains(got, "events=20 suppressed=8 duplicates=2 ignored=7 malformed=3") {
		t.Errorf("log has addresses or wrong counts:\n%s", got)
	}
	if ttl := f.d.seen["sg:e-unsub"]; ttl != 72*time.Hour {
		t.Errorf("dedupe ttl of sg:e-unsub = %v; want 72h", ttl)
	}

	// The same events again in a later batch (SendGrid's duplicates): nothing new.
	if w := f.serve(s.request(t, mixedBatch, sgNow.Add(time.Minute))); w.Code != http.StatusOK {
		t.Fatalf("second batch: status = %d; want 200", w.Code)
	}
	if len(f.s.calls) != len(want) {
		t.Errorf("after a duplicate batch: %d suppressions; want %d", len(f.s.calls), len(want))
	}
}

func TestSendGridRefusesRequests(t *testing.T) {
	s := newSGSigner(t)
	other := newSGSigner(t)
	body := `[{"email":"a@example.com","event":"unsubscribe","timestamp":1741950000,"sg_event_id":"x"}]`
	tests := []struct {
		name string
		req  func() *http.Request
		want int
	}{
		{"with a GET", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/webhooks/sendgrid", nil)
		}, http.StatusMethodNotAllowed},
		{"without a signature", func() *http.Request {
			r := s.request(t, body, sgNow)
			r.Header.Del(eventwebhook.VerificationHTTPHeader)
			return r
		}, http.StatusForbidden},
		{"without a timestamp", func() *http.Request {
			r := s.request(t, body, sgNow)
			r.Header.Del(eventwebhook.TimestampHTTPHeader)
			return r
		}, http.StatusForbidden},
		{"signed with another key", func() *http.Request { return other.request(t, body, sgNow) }, http.StatusForbidden},
		{"with a signature that is not base64", func() *http.Request {
			r := s.request(t, body, sgNow)
			r.Header.Set(eventwebhook.VerificationHTTPHeader, "not base64!")
			return r
		}, http.StatusForbidden},
		{"with a tampered body", func() *http.Request {
			r := s.request(t, body, sgNow)
			r.Body = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Replace(body, "a@", "b@", 1))).Body
			return r
		}, http.StatusForbidden},
		{"with a trailing CRLF dropped", func() *http.Request {
			r := s.request(t, body+"\r\n", sgNow)
			r.Body = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body)).Body
			return r
		}, http.StatusForbidden},
		{"with a timestamp 6 minutes old", func() *http.Request { return s.request(t, body, sgNow.Add(-6*time.Minute)) }, http.StatusForbidden},
		{"with a timestamp 6 minutes ahead", func() *http.Request { return s.request(t, body, sgNow.Add(6*time.Minute)) }, http.StatusForbidden},
		{"with bad JSON", func() *http.Request { return s.request(t, `[{"event":`, sgNow) }, http.StatusBadRequest},
		{"with a JSON object instead of an array", func() *http.Request { return s.request(t, `{"event":"unsubscribe"}`, sgNow) }, http.StatusBadRequest},
		{"with a body over 5 MB", func() *http.Request {
			return s.request(t, "["+strings.Repeat(" ", SendGridMaxBody)+"]", sgNow)
		}, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSGFixture(t, s.pubB64)
			if w := f.serve(tt.req()); w.Code != tt.want {
				t.Errorf("status = %d (%s); want %d", w.Code, strings.TrimSpace(w.Body.String()), tt.want)
			}
			if len(f.s.calls) != 0 || len(f.d.seen) != 0 {
				t.Errorf("refused request acted: %d suppressions, %d claims", len(f.s.calls), len(f.d.seen))
			}
		})
	}
}

func TestSendGridStoreFailureIsRetried(t *testing.T) {
	s := newSGSigner(t)
	body := `[{"email":"a@example.com","event":"unsubscribe","timestamp":1741950000,"sg_event_id":"x"}]`
	tests := []struct {
		name                   string
		dedupeFails, suppFails bool
	}{
		{"when the dedupe store fails", true, false},
		{"when suppressing fails", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSGFixture(t, s.pubB64)
			f.d.failing, f.s.failing = tt.dedupeFails, tt.suppFails
			if w := f.serve(s.request(t, body, sgNow)); w.Code != http.StatusServiceUnavailable {
				t.Fatalf("status = %d; want 503", w.Code)
			}
			// SendGrid's retry, once the store is back, must suppress the address.
			f.d.failing, f.s.failing = false, false
			if w := f.serve(s.request(t, body, sgNow)); w.Code != http.StatusOK {
				t.Fatalf("retry: status = %d; want 200", w.Code)
			}
			if len(f.s.calls) != 1 || f.s.calls[0].Email != "a@example.com" {
				t.Errorf("after the retry: suppressions %+v; want a@example.com once", f.s.calls)
			}
		})
	}
}

// SendGrid's own test vector (sendgrid-go helpers/eventwebhook): a real key,
// signature and body, with its trailing CRLF.
const (
	vectorKey       = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
	vectorSignature = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
	vectorTimestamp = "1600112502"
	vectorBody      = `[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]` + "\r\n"
)

func TestSendGridVendorTestVector(t *testing.T) {
	f := newSGFixture(t, vectorKey)
	f.h.Now = func() time.Time { return time.Unix(1600112502, 0).Add(2 * time.Minute) }
	r := httptest.NewRequest(http.MethodPost, "/webhooks/sendgrid", strings.NewReader(vectorBody))
	r.Header.Set(eventwebhook.VerificationHTTPHeader, vectorSignature)
	r.Header.Set(eventwebhook.TimestampHTTPHeader, vectorTimestamp)
	if w := f.serve(r); w.Code != http.StatusOK {
		t.Fatalf("status = %d (%s); want 200", w.Code, w.Body)
	}
	want := []suppressed{{"hello@world.com", "sendgrid: dropped (Bounced Address)", time.Unix(1600112492, 0).UTC()}}
	if !reflect.DeepEqual(f.s.calls, want) {
		t.Errorf("suppressions = %+v; want %+v", f.s.calls, want)
	}
}

func TestNewSendGridKeys(t *testing.T) {
	p256 := newSGSigner(t).pubB64
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := base64.StdEncoding.DecodeString(p256)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	tests := []struct {
		name    string
		key     string
		wantErr string
	}{
		{"with SendGrid's base64 P-256 key", p256, ""},
		{"with surrounding whitespace", "\n " + p256 + " \n", ""},
		{"with a PEM key", pemKey, ""},
		{"with an RSA key", pubBase64(t, &rsaKey.PublicKey), "not an ECDSA key"},
		{"with an Ed25519 key", pubBase64(t, edPub), "not an ECDSA key"},
		{"with a P-384 key", pubBase64(t, &p384.PublicKey), "not P-256"},
		{"with bad base64", "not-a-key!", "decode base64"},
		{"with base64 that is not a key", base64.StdEncoding.EncodeToString([]byte("hello")), "parse"},
		{"with an empty key", "", "empty key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSendGrid(tt.key, &memSuppressor{}, newMemDeduper(), nil)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("NewSendGrid: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("NewSendGrid error = %v; want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewSendGridRequiresStores(t *testing.T) {
	key := newSGSigner(t).pubB64
	if _, err := NewSendGrid(key, nil, newMemDeduper(), nil); err == nil {
		t.Error("NewSendGrid without a suppressor: no error")
	}
	if _, err := NewSendGrid(key, &memSuppressor{}, nil, nil); err == nil {
		t.Error("NewSendGrid without a deduper: no error")
	}
}
