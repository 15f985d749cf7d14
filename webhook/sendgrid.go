package webhook

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"
)

// Limits of the SendGrid event webhook.
const (
	// SendGridMaxBody is the largest batch accepted, in bytes.
	SendGridMaxBody = 5 << 20
	// SendGridDedupeTTL is how long an event id is remembered: SendGrid
	// retries for 24h and duplicates were seen up to 29h apart.
	SendGridDedupeTTL = 72 * time.Hour
)

// Suppressor records that an address must never be emailed again, and why.
type Suppressor interface {
	Suppress(ctx context.Context, email, reason string, at time.Time) error
}

// SendGrid handles SendGrid's signed event webhook: it verifies each batch
// and suppresses the addresses that unsubscribed, bounced or reported spam.
// It is safe for concurrent use.
type SendGrid struct {
	// Now is the clock used to check the signature timestamp; time.Now by
	// default.
	Now func() time.Time

	key        *ecdsa.PublicKey
	suppressor Suppressor
	deduper    Deduper
	logger     *slog.Logger
}

// NewSendGrid returns the event webhook handler. publicKeyBase64 is the
// verification key SendGrid shows when the signed event webhook is enabled
// (base64 of a DER PKIX ECDSA P-256 key; PEM is accepted too). A key that is
// not such a key is an error.
func NewSendGrid(publicKeyBase64 string, s Suppressor, d Deduper, logger *slog.Logger) (*SendGrid, error) {
	if s == nil || d == nil {
		return nil, errors.New("webhook: sendgrid: suppressor and deduper are required")
	}
	key, err := parsePublicKey(publicKeyBase64)
	if err != nil {
		return nil, fmt.Errorf("webhook: sendgrid verification key: %w", err)
	}
	return &SendGrid{
		Now:        time.Now,
		key:        key,
		suppressor: s,
		deduper:    d,
		logger:     orDiscard(logger).With("webhook", "sendgrid"),
	}, nil
}

// parsePublicKey decodes an ECDSA P-256 public key. It does what
// eventwebhook.ConvertPublicKeyBase64ToECDSA does, without its panic on a
// key of another type.
func parsePublicKey(s string) (*ecdsa.PublicKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty key")
	}
	var der []byte
	if block, _ := pem.Decode([]byte(s)); block != nil {
		der = block.Bytes
	} else {
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			return nil, fmt.Errorf("decode base64: %w", err)
		}
		der = b
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	key, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%T is not an ECDSA key", pub)
	}
	if key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("curve %s is not P-256", key.Curve.Params().Name)
	}
	return key, nil
}

// ServeHTTP verifies and processes one batch of events. It answers 200 once
// every event is processed, 5xx only when the store fails so that SendGrid
// retries the batch, and 4xx for requests that a retry cannot fix.
func (h *SendGrid) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !allowPost(w, r) {
		return
	}
	body, err := readBody(w, r, SendGridMaxBody)
	if err != nil {
		http.Error(w, "cannot read body", bodyStatus(err))
		return
	}
	if err := h.verify(r.Header, body); err != nil {
		h.logger.Warn("webhook: sendgrid: request refused", "err", err)
		http.Error(w, "invalid signature", http.StatusForbidden)
		return
	}
	events, err := decodeBatch(body)
	if err != nil {
		h.logger.Warn("webhook: sendgrid: bad batch", "err", err)
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return
	}
	c, err := h.process(r.Context(), events)
	h.logger.Info("webhook: sendgrid batch", c.attrs()...)
	if err != nil {
		h.logger.Error("webhook: sendgrid: store failed, SendGrid will retry", "err", err)
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// Reasons to refuse a SendGrid request.
var (
	errMissingSignature = errors.New("missing signature or timestamp")
	errStaleTimestamp   = errors.New("timestamp missing, malformed or outside the window")
	errBadSignature     = errors.New("signature does not match")
)

// verify checks that body carries a valid signature over a fresh timestamp.
func (h *SendGrid) verify(header http.Header, body []byte) error {
	sig := header.Get(eventwebhook.VerificationHTTPHeader)
	ts := header.Get(eventwebhook.TimestampHTTPHeader)
	if sig == "" || ts == "" {
		return errMissingSignature
	}
	if _, fresh := unixTimestamp(ts, h.Now()); !fresh {
		return errStaleTimestamp
	}
	if ok, err := eventwebhook.VerifySignature(h.key, body, sig, ts); err != nil || !ok {
		return errBadSignature
	}
	return nil
}
