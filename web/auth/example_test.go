package auth_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/crmsync/crmsync/web/auth"
)

// The dashboard's server: the auth pages at /auth/, every other page
// behind Require, which hands each handler its User and CSRF token.
func Example() {
	a, err := auth.New(auth.Options{
		ClientID:     os.Getenv("SLACK_CLIENT_ID"), // empty: loopback only
		ClientSecret: os.Getenv("SLACK_CLIENT_SECRET"),
		PublicURL:    "https://crm.example.com",
		SessionKey:   os.Getenv("CRMSYNC_SESSION_KEY"),
		Admins:       []string{"boss@example.com"},
		IsOwner: func(ctx context.Context, email string) (bool, error) {
			return email == "rep@example.com", nil // the lead's owner lookup
		},
		AdminToken: os.Getenv("CRMSYNC_ADMIN_TOKEN"),
	})
	if err != nil {
		log.Fatal(err)
	}
	pages := http.NewServeMux()
	pages.HandleFunc("GET /portfolio", func(w http.ResponseWriter, r *http.Request) {
		u, _ := auth.UserFrom(r.Context())
		fmt.Fprintf(w, "book of %s (admin %v); forms carry csrf=%s", u.Email, u.Admin, auth.CSRFToken(r))
	})
	mux := http.NewServeMux()
	mux.Handle("/auth/", a.Handler())
	mux.Handle("/", a.Require(pages))
	_ = http.ListenAndServe("127.0.0.1:8080", mux)
}
