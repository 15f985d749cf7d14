// Package browser holds the dashboard's browser tests: a real headless
// Chromium, driven with chromedp, against the app as `crmsync run` serves
// it (real Redis, the sample portfolio after one demo pass, Sign in with
// Slack through a fake provider).
//
// They need a Chromium binary, named by CRMSYNC_CHROMIUM:
//
//	CRMSYNC_CHROMIUM=/usr/bin/chromium go test ./web/browser/...
//
// Without it they skip, unless CRMSYNC_REQUIRE_BROWSER=1 (as in CI), where
// they fail. With CRMSYNC_SCREENSHOTS=1 they rewrite the PNGs in
// docs/screenshots; otherwise the screenshots go to a temporary folder.
package browser
