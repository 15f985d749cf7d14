package app

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/notify/locale"
)

// TestDashboardPortfolio: after the demo's pass, the portfolio page on
// loopback (no sign-in configured) shows the sample's figures, the same
// ABC counts as the pass report, and a filter narrows them.
func TestDashboardPortfolio(t *testing.T) {
	a := startApp(t, demoOnRedis(t, ""))
	res, _ := runDemo(t, a, 1)
	rep := res.Passes[0].Report
	get := serveDashboard(t, a)
	page := get("/portfolio", 200)
	for _, want := range []string{"<svg", `id="abc"`, `id="rfm"`, "revenue at risk", "(admin)"} {
		if !strings.Contains(page, want) {
			t.Errorf("portfolio page lacks %q", want)
		}
	}
	abc := page[strings.Index(page, `id="abc"`):]
	abc = abc[:strings.Index(abc, "</table>")]
	for _, class := range []string{"A", "B", "C"} {
		row := "<tr><td>" + class + `</td><td class="n">` + locale.For(a.Config.Locale).Number(float64(rep.ABC[class].Accounts))
		if !strings.Contains(abc, row) {
			t.Errorf("ABC table lacks %q (pass report: %d):\n%s", row, rep.ABC[class].Accounts, abc)
		}
	}
	if strings.Contains(page, "<script") {
		t.Error("the page has a script")
	}
	filtered := get("/portfolio?class=A", 200)
	if filtered == page || !strings.Contains(filtered, `<option selected>A</option>`) {
		t.Error("the class filter changed nothing")
	}
}

// serveDashboard serves a's HTTP handler on loopback for the test and
// returns a GET that fails the test unless the answer has status code.
func serveDashboard(t *testing.T, a *App) func(path string, code int) string {
	srv := httptest.NewServer(a.HTTPHandler())
	t.Cleanup(srv.Close)
	return func(path string, code int) string {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != code {
			t.Fatalf("GET %s: %d, want %d\n%s", path, resp.StatusCode, code, b)
		}
		return string(b)
	}
}
