package sendgrid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

const (
	scopesPath    = "/v3/scopes"
	mailSendScope = "mail.send"
)

// Probe checks, without sending anything, that SendGrid accepts the API
// key and that the key may send mail: GET /v3/scopes, which any key may
// call, must answer 200 with "mail.send" among the key's scopes. It
// returns a *notify.CredentialsError while the key is refused or lacks the
// permission, and a plain error when SendGrid could not be asked. It
// cannot tell whether the sender address is verified: only a send does.
func (s *Sender) Probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	endpoint := strings.TrimSuffix(s.endpoint, mailSendPath) + scopesPath
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return fmt.Errorf("sendgrid scopes: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+s.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("sendgrid scopes: %w", withContext(ctx, err))
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if code := resp.StatusCode; code != http.StatusOK {
		msg := fmt.Sprintf("sendgrid scopes: %d %s", code, http.StatusText(code))
		if r := s.redact(reason(code, data)); r != "" {
			msg += ": " + r
		}
		if refused(code) {
			return credentialsError(code, msg, nil)
		}
		return errors.New(msg)
	}
	var body struct {
		Scopes []string `json:"scopes"`
	}
	if err := json.Unmarshal(data, &body); err != nil {
		return fmt.Errorf("sendgrid scopes: decode: %w", err)
	}
	if !slices.Contains(body.Scopes, mailSendScope) {
		return credentialsError(http.StatusForbidden,
			"sendgrid scopes: the API key lacks the Mail Send permission (scope mail.send)", nil)
	}
	return nil
}
