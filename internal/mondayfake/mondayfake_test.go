package mondayfake

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// post sends a GraphQL request and returns the status, headers and
// decoded body.
func post(t *testing.T, s *Server, token, query string, vars map[string]any) (int, http.Header, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, s.URL()+Path, bytes.NewReader(body))
	req.Header.Set("Authorization", token)
	req.Header.Set("API-Version", "2025-07")
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("answer %q: %v", b, err)
	}
	return resp.StatusCode, resp.Header, out
}

func newServer(t *testing.T, o Options) *Server {
	t.Helper()
	s := New(o)
	t.Cleanup(s.Close)
	if err := s.SeedDocumented(); err != nil {
		t.Fatal(err)
	}
	return s
}

// shape lists the key paths of a JSON value, for comparing answers with
// the documented examples.
func shape(v any, prefix string, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			shape(e, prefix+"."+k, out)
		}
	case []any:
		for _, e := range x {
			shape(e, prefix+"[]", out)
		}
	default:
		out[prefix] = true
	}
}

func example(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := examples.ReadFile("examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDocumentedRequests sends the documented items_page and
// next_items_page requests and compares the answers' shape and data
// with the documented responses.
func TestDocumentedRequests(t *testing.T) {
	s := newServer(t, Options{})
	req := example(t, "monday_items_page_request.json")["body"].(map[string]any)
	vars := req["variables"].(map[string]any)
	vars["since"] = []any{"EXACT", "2024-09-01"}
	st, h, got := post(t, s, DefaultToken, req["query"].(string), vars)
	if st != 200 || h.Get("RateLimit-Policy") == "" || h.Get("RateLimit") == "" {
		t.Fatalf("status %d, headers %v", st, h)
	}
	want := example(t, "monday_items_page_response_page1.json")
	gotShape, wantShape := map[string]bool{}, map[string]bool{}
	shape(got, "", gotShape)
	shape(want, "", wantShape)
	if !reflect.DeepEqual(gotShape, wantShape) {
		t.Errorf("answer shape\n%v\nwant the documented\n%v", keys(gotShape), keys(wantShape))
	}
	items := got["data"].(map[string]any)["boards"].([]any)[0].(map[string]any)["items_page"].(map[string]any)["items"].([]any)
	first := items[0].(map[string]any)
	if first["id"] != "9100000001" || first["updated_at"] != "2024-09-11T15:40:07Z" {
		t.Errorf("first item %v", first)
	}
	cursor := got["data"].(map[string]any)["boards"].([]any)[0].(map[string]any)["items_page"].(map[string]any)["cursor"]
	if cursor != nil {
		t.Fatalf("three deals fit a page of 500, cursor %v", cursor)
	}
	// Two per page: the documented next_items_page request follows.
	q := strings.Replace(req["query"].(string), "limit: 500", "limit: 2", 1)
	_, _, got = post(t, s, DefaultToken, q, vars)
	cursor = got["data"].(map[string]any)["boards"].([]any)[0].(map[string]any)["items_page"].(map[string]any)["cursor"]
	next := example(t, "monday_next_items_page_request.json")["body"].(map[string]any)
	nv := next["variables"].(map[string]any)
	nv["cursor"] = cursor
	_, _, got = post(t, s, DefaultToken, next["query"].(string), nv)
	gotShape, wantShape = map[string]bool{}, map[string]bool{}
	shape(got, "", gotShape)
	shape(example(t, "monday_next_items_page_response_last.json"), "", wantShape)
	delete(wantShape, ".data.next_items_page.items[].group.id") // the request selects no group
	delete(wantShape, ".data.next_items_page.items[].group.title")
	delete(wantShape, ".data.next_items_page.items[].creator_id")
	if !reflect.DeepEqual(gotShape, wantShape) {
		t.Errorf("next page shape\n%v\nwant\n%v", keys(gotShape), keys(wantShape))
	}
	if page := got["data"].(map[string]any)["next_items_page"].(map[string]any); page["cursor"] != nil || len(page["items"].([]any)) != 1 {
		t.Errorf("last page %v", page)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestValidationErrors(t *testing.T) {
	s := newServer(t, Options{})
	tests := []struct {
		query string
		code  string
		msg   string
	}{
		{`{ boards { id foo } }`, "undefinedField", "Field 'foo' doesn't exist on type 'Board'"},
		{`{ boards(idz: [1]) { id } }`, "argumentNotAccepted", "Field 'boards' doesn't accept argument 'idz'"},
		{`{ next_items_page(limit: 5) { cursor } }`, "missingRequiredArguments", "missing required arguments: cursor"},
		{`{ boards(ids: $b) { id } }`, "variableNotDefined", "Variable $b is used by anonymous query but not declared"},
		{`{ boards { columns } }`, "selectionMismatch", "Field must have selections"},
		{`{ boards { items_page { items { column_values { ... on Board { id } } } } } }`, "cannotSpreadFragment", "Fragment on Board can't be spread inside ColumnValue"},
	}
	for _, tt := range tests {
		st, _, got := post(t, s, DefaultToken, tt.query, nil)
		errs, _ := got["errors"].([]any)
		if st != 200 || len(errs) == 0 {
			t.Errorf("%s: status %d, answer %v", tt.query, st, got)
			continue
		}
		e := errs[0].(map[string]any)
		if e["extensions"].(map[string]any)["code"] != tt.code || !strings.Contains(e["message"].(string), tt.msg) {
			t.Errorf("%s: error %v, want %s %q", tt.query, e, tt.code, tt.msg)
		}
	}
	if _, _, got := post(t, s, DefaultToken, `{ boards { id `, nil); !strings.Contains(got["errors"].([]any)[0].(map[string]any)["message"].(string), "Parse error on") {
		t.Errorf("parse error answer %v", got)
	}
}

func TestErrorBodies(t *testing.T) {
	clk := time.Date(2024, 9, 12, 23, 0, 0, 0, time.UTC)
	s := newServer(t, Options{DailyLimit: 2, Budget: 1000, Now: func() time.Time { return clk }})
	st, _, got := post(t, s, "wrong", `{ me { id } }`, nil)
	if st != 401 || got["errors"].([]any)[0].(map[string]any)["message"] != "Not Authenticated" {
		t.Errorf("bad token: %d %v", st, got)
	}
	s.DenyBoard(BoardDeals)
	_, _, got = post(t, s, DefaultToken, `{ boards(ids: [`+BoardDeals+`]) { id } }`, nil)
	want := example(t, "monday_error_user_unauthorized.json")
	e, we := got["errors"].([]any)[0].(map[string]any), want["errors"].([]any)[0].(map[string]any)
	if e["message"] != we["message"] || !reflect.DeepEqual(e["extensions"], we["extensions"]) || !reflect.DeepEqual(got["data"], want["data"]) {
		t.Errorf("unauthorized: %v\nwant %v", got, want)
	}
	s.AllowBoard(BoardDeals)
	st, h, got := post(t, s, DefaultToken, `{ complexity { after } boards(ids: [`+BoardDeals+`]) { items_page(limit: 500) { items { id } } } }`, nil)
	we = example(t, "monday_error_complexity_budget_exhausted.json")["errors"].([]any)[0].(map[string]any)
	e = got["errors"].([]any)[0].(map[string]any)
	if st != 429 || h.Get("Retry-After") != "60" || e["message"] != we["message"] || e["extensions"].(map[string]any)["code"] != "COMPLEXITY_BUDGET_EXHAUSTED" ||
		e["extensions"].(map[string]any)["retry_in_seconds"] != 60.0 {
		t.Errorf("budget: %d %v %v", st, h, got)
	}
	st, h, got = post(t, s, DefaultToken, `{ me { id } }`, nil)
	e = got["errors"].([]any)[0].(map[string]any)
	if st != 429 || e["extensions"].(map[string]any)["code"] != CodeDailyLimit || h.Get("Retry-After") != "3600" {
		t.Errorf("daily limit: %d %v %v", st, h, got)
	}
}

func TestCursorLifetime(t *testing.T) {
	clk := time.Date(2024, 9, 12, 10, 0, 0, 0, time.UTC)
	s := newServer(t, Options{Now: func() time.Time { return clk }})
	_, _, got := post(t, s, DefaultToken, `{ boards(ids: [`+BoardDeals+`]) { items_page(limit: 1) { cursor items { id } } } }`, nil)
	cursor := got["data"].(map[string]any)["boards"].([]any)[0].(map[string]any)["items_page"].(map[string]any)["cursor"]
	clk = clk.Add(DefaultCursorLifetime)
	_, _, got = post(t, s, DefaultToken, `query ($c: String!) { next_items_page(cursor: $c, limit: 1) { cursor items { id } } }`, map[string]any{"c": cursor})
	want := example(t, "monday_error_cursor_expired.json")
	if !reflect.DeepEqual(got["errors"], want["errors"]) {
		t.Errorf("expired cursor: %v\nwant %v", got["errors"], want["errors"])
	}
}

func TestActivityLogs(t *testing.T) {
	s := newServer(t, Options{})
	if err := s.Delete(BoardDeals, "9100000002"); err != nil {
		t.Fatal(err)
	}
	_, _, got := post(t, s, DefaultToken, `{ boards(ids: [`+BoardDeals+`]) { activity_logs(from: "2000-01-01T00:00:00Z", limit: 1) { id event entity created_at data } } }`, nil)
	logs := got["data"].(map[string]any)["boards"].([]any)[0].(map[string]any)["activity_logs"].([]any)
	if len(logs) != 1 {
		t.Fatalf("logs %v", logs)
	}
	l := logs[0].(map[string]any)
	if l["event"] != "delete_pulse" || len(l["created_at"].(string)) != 17 || !strings.Contains(l["data"].(string), `"pulse_id":9100000002`) {
		t.Errorf("log %v", l)
	}
}
