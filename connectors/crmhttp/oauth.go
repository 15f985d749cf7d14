package crmhttp

import (
	"net/http"

	"golang.org/x/oauth2"
)

// NewOAuthClient returns c sending its requests with the access token of
// tokens over base's transport, within base's timeout, and asking tokens
// for a new one when the API refuses it (Refresh). The other fields
// (Limiters, Classify, the retries) are c's.
func NewOAuthClient(base *http.Client, tokens *Tokens, c Client) *Client {
	c.HTTP = &http.Client{
		Transport: &oauth2.Transport{Source: tokens, Base: base.Transport},
		Timeout:   base.Timeout,
	}
	c.Refresh = tokens.Refresh
	return &c
}
