package browser

import (
	"cmp"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/crmsync/crmsync/internal/slackoidcfake"
)

// The environment that drives these tests.
const (
	chromiumEnv    = "CRMSYNC_CHROMIUM"        // the Chromium binary
	requireEnv     = "CRMSYNC_REQUIRE_BROWSER" // "1": fail rather than skip without it
	screenshotsEnv = "CRMSYNC_SCREENSHOTS"     // "1": rewrite docs/screenshots
)

// stepTimeout bounds one browser action.
const stepTimeout = 20 * time.Second

// chromiumPath returns the Chromium to drive, or skips the test (fails it
// under CRMSYNC_REQUIRE_BROWSER=1) when there is none.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv(chromiumEnv)
	why := chromiumEnv + " is not set"
	if path != "" {
		if _, err := os.Stat(path); err == nil {
			return path
		} else {
			why = chromiumEnv + ": " + err.Error()
		}
	}
	msg := "browser tests: " + why + "; run them with `CRMSYNC_CHROMIUM=/usr/bin/chromium go test ./web/browser/...` (Debian: apt-get install chromium)"
	if os.Getenv(requireEnv) == "1" {
		t.Fatal(msg + " (" + requireEnv + "=1: they must run)")
	}
	t.Skip(msg)
	return ""
}

// startBrowser starts a headless Chromium with the flags that work on a
// closed network, and returns its context; it stops when the test ends.
func startBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-extensions", true),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// tab is a browser tab with its own cookies (a browser context of its
// own), recording what the pages write to the console and the dialogs
// they open.
type tab struct {
	ctx  context.Context
	base string // the site's URL

	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	dialogs []string
}

// newTab opens a tab on the browser, in a fresh browser context.
func newTab(t *testing.T, browser context.Context, base string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	tb := &tab{ctx: ctx, base: base}
	messages := chromedp.Console(ctx)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.console = append(tb.console, m)
			tb.mu.Unlock()
		}
	}()
	go func() {
		for d, err := range dialogs {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.dialogs = append(tb.dialogs, string(d.Type)+": "+d.Message)
			tb.mu.Unlock()
			// A dialog blocks the page: dismiss it so the test goes on.
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return tb
}

// run runs a with a step timeout.
func run[T any](t *testing.T, tb *tab, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// open loads path (or a full URL) and returns the document's response.
func (tb *tab) open(t *testing.T, path string) *network.Response {
	t.Helper()
	return run(t, tb, "GET "+path, chromedp.NavigateResponse(tb.abs(path)))
}

// openOK loads path and fails unless it answers 200 at path.
func (tb *tab) openOK(t *testing.T, path string) {
	t.Helper()
	resp := tb.open(t, path)
	if resp.Status != 200 {
		t.Fatalf("GET %s: %d %s, want 200", path, resp.Status, tb.text(t, "body"))
	}
	if got, want := tb.location(t), tb.abs(path); got != want {
		t.Fatalf("GET %s: landed at %s", want, got)
	}
}

// submit clicks the element sel (a form's button) and returns the
// response of the document it leads to.
func (tb *tab) submit(t *testing.T, sel string) *network.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("submitting %s: %v", sel, err)
	}
	return resp
}

func (tb *tab) abs(path string) string {
	if strings.HasPrefix(path, "/") {
		return tb.base + path
	}
	return path
}

// location returns the page's URL.
func (tb *tab) location(t *testing.T) string {
	t.Helper()
	return run(t, tb, "location", chromedp.Location())
}

// text returns the text content of the first element sel.
func (tb *tab) text(t *testing.T, sel string) string {
	t.Helper()
	return strings.TrimSpace(run(t, tb, "text of "+sel, chromedp.TextContent(chromedp.CSS(sel))))
}

// eval evaluates a JavaScript expression in the page (DevTools
// evaluation, which the pages' CSP does not block).
func eval[T any](t *testing.T, tb *tab, expr string) T {
	t.Helper()
	return run(t, tb, expr, chromedp.Evaluate[T](expr))
}

// count returns how many elements match sel.
func (tb *tab) count(t *testing.T, sel string) int {
	t.Helper()
	return eval[int](t, tb, "document.querySelectorAll("+jsString(sel)+").length")
}

// tableRow is a row of a table as the page shows it: its cells' text and
// the href of its first link ("" without).
type tableRow struct {
	Cells []string `json:"cells"`
	Link  string   `json:"link"`
}

// rows returns the rows of the body of the table sel.
func (tb *tab) rows(t *testing.T, sel string) []tableRow {
	t.Helper()
	return eval[[]tableRow](t, tb, `Array.from(document.querySelectorAll(`+jsString(sel+" tbody tr")+`)).map(tr => ({
		cells: Array.from(tr.cells).map(td => td.textContent.trim()),
		link: tr.querySelector("a[href]") ? tr.querySelector("a[href]").getAttribute("href") : ""}))`)
}

// download clicks the download link sel and returns the file the
// browser saved, once the download completes.
func (tb *tab) download(t *testing.T, sel string) []byte {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, BrowserContextID: chromedp.FromContext(tb.ctx).BrowserContextID,
		DownloadPath: dir, EventsEnabled: new(true),
	})
	if err != nil {
		t.Fatalf("allowing downloads: %v", err)
	}
	progress := chromedp.BrowserEvents(ctx, browser.DownloadProgress)
	run(t, tb, "click "+sel, chromedp.Click(chromedp.CSS(sel)))
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("downloading %s: %v", sel, err)
		}
		switch ev.State {
		case browser.DownloadProgressStateCompleted:
			b, err := os.ReadFile(filepath.Join(dir, ev.GUID))
			if err != nil {
				t.Fatal(err)
			}
			return b
		case browser.DownloadProgressStateCanceled:
			t.Fatalf("downloading %s: canceled", sel)
		}
	}
	t.Fatalf("downloading %s: no end", sel)
	return nil
}

// navLinks returns the paths of the pages in the navigation.
func (tb *tab) navLinks(t *testing.T) []string {
	t.Helper()
	hrefs := eval[[]string](t, tb, `Array.from(document.querySelectorAll("header nav a")).map(a => a.getAttribute("href"))`)
	var paths []string
	for _, h := range hrefs {
		u, err := url.Parse(h)
		if err != nil || u.Path == "" {
			t.Fatalf("nav link %q", h)
		}
		if !slices.Contains(paths, u.Path) {
			paths = append(paths, u.Path)
		}
	}
	return paths
}

// checkClean fails the test for every console error or exception and
// every dialog since the last call, but those that expected says are
// the test's own doing. Chromium's own request for /favicon.ico (the
// pages name no icon) is not the page's error.
func (tb *tab) checkClean(t *testing.T, where string, expected ...func(chromedp.ConsoleMessage) bool) {
	t.Helper()
	tb.mu.Lock()
	msgs, dialogs := tb.console, tb.dialogs
	tb.console, tb.dialogs = nil, nil
	tb.mu.Unlock()
	for _, m := range msgs {
		if m.Type != chromedp.ConsoleError && !m.IsException() {
			continue
		}
		if m.Source == "network" && strings.HasSuffix(m.URL, "/favicon.ico") ||
			slices.ContainsFunc(expected, func(f func(chromedp.ConsoleMessage) bool) bool { return f(m) }) {
			continue
		}
		t.Errorf("%s: console %s (at %s)", where, m, m.URL)
	}
	for _, d := range dialogs {
		t.Errorf("%s: the page opened a dialog: %s", where, d)
	}
}

// screenshot writes a full-page PNG of the tab to dir/name.png.
func (tb *tab) screenshot(t *testing.T, dir, name string) {
	t.Helper()
	png := run(t, tb, "screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// screenshotDir is docs/screenshots under CRMSYNC_SCREENSHOTS=1, else a
// temporary folder.
func screenshotDir(t *testing.T) string {
	t.Helper()
	if os.Getenv(screenshotsEnv) != "1" {
		return t.TempDir()
	}
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// signIn signs the tab in through the fake Slack as who, starting from
// /portfolio, and checks it lands back there, signed in.
func (tb *tab) signIn(t *testing.T, slack *slackoidcfake.Server, who person) {
	t.Helper()
	slack.SetIdentity(slackoidcfake.Identity{UserID: cmp.Or(who.ID, "U0ADMIN"), Email: who.Email, Name: who.Name})
	tb.open(t, "/portfolio")
	if u, _ := url.Parse(tb.location(t)); u.Path != "/auth/login" {
		t.Fatalf("signed out, /portfolio led to %s, want the sign-in page", u)
	}
	resp := tb.submit(t, `form[action="/auth/login"] button`)
	if resp.Status != 200 || tb.location(t) != tb.base+"/portfolio" {
		t.Fatalf("signing in as %s: %d at %s: %s", who.Email, resp.Status, tb.location(t), tb.text(t, "body"))
	}
	if got := tb.text(t, "header .who"); !strings.Contains(got, who.Email) {
		t.Fatalf("signed in as %s, the header says %q", who.Email, got)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "<", `\x3c`)
	return `"` + r.Replace(s) + `"`
}
