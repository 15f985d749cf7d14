package auth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// BenchmarkRequire is the cost Require adds to a signed-in page view:
// checking the session cookie's MAC and expiry and deriving the CSRF token.
func BenchmarkRequire(b *testing.B) {
	a, err := New(Options{ClientID: "1.2", ClientSecret: "s", PublicURL: "https://crm.example.com",
		SessionKey: strings.Repeat("k", MinSessionKey), Admins: []string{"boss@example.com"}})
	if err != nil {
		b.Fatal(err)
	}
	sealed, err := a.signer.seal(purposeSession, session{ID: random(18), Email: "rep@example.com", Name: "Rita Rep",
		Via: ViaSlack, Expires: time.Now().Add(time.Hour).Unix()})
	if err != nil {
		b.Fatal(err)
	}
	h := a.Require(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest(http.MethodGet, "https://crm.example.com/portfolio", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: sealed})
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}
