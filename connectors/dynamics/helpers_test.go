package dynamics

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/conntest"
)

// This file holds a small Dataverse for the tests: Entra's token endpoint
// and the Web API's entity sets, serving the rows of testdata (the
// documented example payloads) with change tracking, paging and the
// documented error bodies. internal/dynamicsfake is the full fake.

const (
	testTenant = "contoso.onmicrosoft.com"
	testClient = "00000000-0000-0000-0000-0000000000c1"
	testSecret = "s3cret"
	apiPath    = "/api/data/v9.2/"
	usdID      = "d3a4b5c6-3333-ed11-b83e-000d3a572421"
)

var idRe = regexp.MustCompile(`eq ([0-9a-fA-F-]{36})`)

type row struct {
	id     string
	ver    int
	fields map[string]json.RawMessage
}

type table struct {
	key  string
	rows []*row
	gone []row // deleted: id and version only
}

// fakeOrg is a Dataverse organization with its Entra tenant.
type fakeOrg struct {
	t   testing.TB
	srv *httptest.Server

	mu           sync.Mutex
	tables       map[string]*table
	ver          int
	expiredBelow int             // delta tokens below this version are expired
	tokens       map[string]bool // valid access tokens
	issued       int
	requests     []string // API requests: path?query
	cert         *x509.Certificate
	assertions   int
	// hook may answer an API request instead of the org (errors, limits);
	// it runs with mu held and returns true when it answered.
	hook func(w http.ResponseWriter, r *http.Request, n int) bool
}

func newFakeOrg(t testing.TB) *fakeOrg {
	t.Helper()
	f := &fakeOrg{t: t, tables: map[string]*table{}, tokens: map[string]bool{}}
	f.seed("systemusers", "systemuserid", "dynamics_systemusers.json")
	f.seed("accounts", "accountid", "dynamics_accounts_page1.json")
	f.seed("contacts", "contactid", "dynamics_contacts_page1.json", "dynamics_contacts_page2.json")
	f.seed("opportunities", "opportunityid", "dynamics_opportunities_page1.json", "dynamics_opportunities_page2.json")
	f.seed("activitypointers", "activityid", "dynamics_activitypointers_page1.json")
	f.tables["transactioncurrencies"] = &table{key: "transactioncurrencyid"}
	f.put("transactioncurrencies", map[string]any{"transactioncurrencyid": usdID, "isocurrencycode": "USD"})
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// seed loads the rows of example pages into a table.
func (f *fakeOrg) seed(set, key string, files ...string) {
	tb := &table{key: key}
	f.tables[set] = tb
	for _, name := range files {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.t.Fatal(err)
		}
		var page struct{ Value []map[string]json.RawMessage }
		if err := json.Unmarshal(data, &page); err != nil {
			f.t.Fatal(err)
		}
		for _, fields := range page.Value {
			var id string
			json.Unmarshal(fields[key], &id)
			delete(fields, "@odata.etag")
			f.ver++
			tb.rows = append(tb.rows, &row{id: id, ver: f.ver, fields: fields})
		}
	}
}

// put inserts or updates a row: fields are merged into it.
func (f *fakeOrg) put(set string, fields map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tb := f.tables[set]
	id, _ := fields[tb.key].(string)
	f.ver++
	var r *row
	for _, have := range tb.rows {
		if have.id == id {
			r = have
		}
	}
	if r == nil {
		r = &row{id: id, fields: map[string]json.RawMessage{}}
		tb.rows = append(tb.rows, r)
	}
	r.ver = f.ver
	for k, v := range fields {
		b, _ := json.Marshal(v)
		r.fields[k] = b
	}
}

// remove deletes a row.
func (f *fakeOrg) remove(set, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tb := f.tables[set]
	f.ver++
	tb.rows = slices.DeleteFunc(tb.rows, func(r *row) bool { return r.id == id })
	tb.gone = append(tb.gone, row{id: id, ver: f.ver})
}

// expireDeltas makes every delta token issued so far expired.
func (f *fakeOrg) expireDeltas() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.expiredBelow = f.ver + 1
}

// revokeTokens makes every access token issued so far invalid.
func (f *fakeOrg) revokeTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.tokens)
}

func (f *fakeOrg) requestLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func (f *fakeOrg) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
		f.token(w, r)
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !f.tokens[tok] {
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="https://login.microsoftonline.com/x/oauth2/authorize", error="invalid_token", error_description="The access token has expired or is not yet valid."`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	f.requests = append(f.requests, strings.TrimPrefix(r.URL.Path, apiPath)+"?"+r.URL.RawQuery)
	if f.hook != nil && f.hook(w, r, len(f.requests)) {
		return
	}
	set := strings.TrimPrefix(r.URL.Path, apiPath)
	tb, ok := f.tables[set]
	if !ok {
		writeFile(w, http.StatusNotFound, "dynamics_error_403_privilege.json")
		return
	}
	q := r.URL.Query()
	switch {
	case q.Get("$apply") != "":
		f.aggregate(w, q.Get("$apply"))
	case q.Get("$filter") != "" && strings.Contains(r.Header.Get("Prefer"), "odata.track-changes"):
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"code": "",
			"message": `The "$filter" query parameter isn't supported when Change Tracking is enabled.`}})
	case set == "activitypointers" && q.Get("$filter") != "":
		f.activities(w, r, tb)
	case q.Get("$filter") != "":
		f.byID(w, r, tb)
	default:
		f.list(w, r, set, tb)
	}
}

// token answers Entra's token endpoint: client credentials with a secret
// or a certificate assertion.
func (f *fakeOrg) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		f.t.Error(err)
	}
	ok := r.PostForm.Get("grant_type") == "client_credentials" && r.PostForm.Get("client_id") == testClient &&
		r.PostForm.Get("scope") == f.srv.URL+"/.default" && r.URL.Path == "/"+testTenant+"/oauth2/v2.0/token"
	switch {
	case !ok:
		writeFile(w, http.StatusBadRequest, "dynamics_token_error_invalid_client.json")
		return
	case r.PostForm.Get("client_assertion") != "":
		if err := f.checkAssertion(r); err != nil {
			f.t.Errorf("client assertion: %v", err)
			writeFile(w, http.StatusUnauthorized, "dynamics_token_error_invalid_client.json")
			return
		}
		f.assertions++
	case r.PostForm.Get("client_secret") != testSecret:
		writeFile(w, http.StatusUnauthorized, "dynamics_token_error_invalid_client.json")
		return
	}
	f.issued++
	tok := "tok-" + strconv.Itoa(f.issued)
	f.tokens[tok] = true
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
}

// checkAssertion verifies a client assertion as Entra does: type,
// x5t, RS256 signature, audience, issuer and subject, lifetime.
func (f *fakeOrg) checkAssertion(r *http.Request) error {
	if r.PostForm.Get("client_assertion_type") != assertionType || r.PostForm.Get("client_secret") != "" {
		return fmt.Errorf("type %q", r.PostForm.Get("client_assertion_type"))
	}
	parts := strings.Split(r.PostForm.Get("client_assertion"), ".")
	if len(parts) != 3 {
		return fmt.Errorf("%d parts", len(parts))
	}
	var header map[string]string
	var claims map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
		return fmt.Errorf("unreadable header or claims")
	}
	thumb := sha1.Sum(f.cert.Raw)
	if header["alg"] != "RS256" || header["x5t"] != base64.RawURLEncoding.EncodeToString(thumb[:]) {
		return fmt.Errorf("header %v", header)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(f.cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, sum[:], sig); err != nil {
		return err
	}
	now := float64(time.Now().Unix())
	if claims["aud"] != f.srv.URL+"/"+testTenant+"/oauth2/v2.0/token" || claims["iss"] != testClient || claims["sub"] != testClient ||
		claims["jti"] == "" || claims["exp"].(float64) <= now || claims["nbf"].(float64) > now+1 {
		return fmt.Errorf("claims %v", claims)
	}
	return nil
}

// list serves an entity set: everything (the initial read of change
// tracking when asked), or what changed since a delta token, paged by
// odata.maxpagesize with a skip token holding the offset and the version
// the read started at.
func (f *fakeOrg) list(w http.ResponseWriter, r *http.Request, set string, tb *table) {
	q := r.URL.Query()
	track := strings.Contains(r.Header.Get("Prefer"), "odata.track-changes")
	since := -1
	if d := q.Get("$deltatoken"); d != "" {
		since, _ = strconv.Atoi(d)
		if since < f.expiredBelow {
			writeFile(w, http.StatusBadRequest, "dynamics_error_changetracking_expired.json")
			return
		}
	}
	offset, at := 0, f.ver
	if s := q.Get("$skiptoken"); s != "" {
		o, v, _ := strings.Cut(s, ".")
		offset, _ = strconv.Atoi(o)
		at, _ = strconv.Atoi(v)
	}
	out := []map[string]json.RawMessage{}
	for _, rw := range tb.rows {
		if rw.ver > since {
			out = append(out, project(rw.fields, tb.key, q.Get("$select")))
		}
	}
	if since >= 0 {
		for _, g := range tb.gone {
			if g.ver > since {
				out = append(out, map[string]json.RawMessage{
					"@odata.context": raw(f.srv.URL + apiPath + "$metadata#" + set + "/$deletedEntity"),
					"id":             raw(g.id), "reason": raw("deleted")})
			}
		}
	}
	size := len(out)
	if m := regexp.MustCompile(`odata.maxpagesize=(\d+)`).FindStringSubmatch(r.Header.Get("Prefer")); m != nil {
		size, _ = strconv.Atoi(m[1])
		w.Header().Set("Preference-Applied", "odata.maxpagesize="+m[1])
	}
	body := map[string]any{"@odata.context": f.srv.URL + apiPath + "$metadata#" + set}
	end := min(offset+size, len(out))
	body["value"] = out[min(offset, len(out)):end]
	sel := "$select=" + q.Get("$select")
	switch {
	case end < len(out):
		next := sel + "&$skiptoken=" + strconv.Itoa(end) + "." + strconv.Itoa(at)
		if since >= 0 {
			next += "&$deltatoken=" + strconv.Itoa(since)
		}
		body["@odata.nextLink"] = f.srv.URL + apiPath + set + "?" + next
	case track:
		body["@odata.deltaLink"] = f.srv.URL + apiPath + set + "?" + sel + "&$deltatoken=" + strconv.Itoa(at)
	}
	writeJSON(w, http.StatusOK, body)
}

// byID serves $filter=key eq A or key eq B.
func (f *fakeOrg) byID(w http.ResponseWriter, r *http.Request, tb *table) {
	want := map[string]bool{}
	for _, m := range idRe.FindAllStringSubmatch(r.URL.Query().Get("$filter"), -1) {
		want[m[1]] = true
	}
	out := []map[string]json.RawMessage{}
	for _, rw := range tb.rows {
		if want[rw.id] {
			out = append(out, project(rw.fields, tb.key, r.URL.Query().Get("$select")))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

// activities serves $filter=modifiedon ge T.
func (f *fakeOrg) activities(w http.ResponseWriter, r *http.Request, tb *table) {
	if r.URL.Query().Get("$filter") == "statecode eq 1 and actualend ne null" {
		out := []map[string]json.RawMessage{}
		for _, rw := range tb.rows {
			if string(rw.fields["statecode"]) == "1" && !isNull(rw.fields["actualend"]) {
				out = append(out, project(rw.fields, tb.key, r.URL.Query().Get("$select")))
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"value": out})
		return
	}
	m := regexp.MustCompile(`^modifiedon ge (\S+)$`).FindStringSubmatch(r.URL.Query().Get("$filter"))
	if m == nil {
		f.t.Errorf("activities filter %q", r.URL.Query().Get("$filter"))
		return
	}
	since, err := time.Parse(time.RFC3339, m[1])
	if err != nil {
		f.t.Errorf("activities filter: %v", err)
	}
	out := []map[string]json.RawMessage{}
	for _, rw := range tb.rows {
		var mod string
		json.Unmarshal(rw.fields["modifiedon"], &mod)
		if t, _ := time.Parse(time.RFC3339, mod); !t.Before(since) {
			out = append(out, project(rw.fields, tb.key, r.URL.Query().Get("$select")))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

// aggregate serves the last-activity $apply: the max actualend of the
// completed activities regarding each id named.
func (f *fakeOrg) aggregate(w http.ResponseWriter, apply string) {
	if !strings.Contains(apply, "groupby((_regardingobjectid_value),aggregate(actualend with max as lastactivity))") ||
		!strings.HasPrefix(apply, "filter(statecode eq 1 and (") {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"code": "0x80060888", "message": "bad $apply " + apply}})
		return
	}
	want := map[string]bool{}
	for _, m := range idRe.FindAllStringSubmatch(apply, -1) {
		want[m[1]] = true
	}
	last := map[string]string{}
	for _, rw := range f.tables["activitypointers"].rows {
		var reg, end string
		var state int
		json.Unmarshal(rw.fields["_regardingobjectid_value"], &reg)
		json.Unmarshal(rw.fields["actualend"], &end)
		json.Unmarshal(rw.fields["statecode"], &state)
		if want[reg] && state == 1 && end > last[reg] {
			last[reg] = end
		}
	}
	out := []map[string]string{}
	for reg, end := range last {
		out = append(out, map[string]string{"_regardingobjectid_value": reg, "lastactivity": end})
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
}

// project keeps the selected columns of a row with their annotations.
func project(fields map[string]json.RawMessage, key, sel string) map[string]json.RawMessage {
	keep := map[string]bool{key: true}
	for _, c := range strings.Split(sel, ",") {
		keep[c] = true
	}
	out := map[string]json.RawMessage{}
	for k, v := range fields {
		base, _, _ := strings.Cut(k, "@")
		if keep[base] {
			out[k] = v
		}
	}
	return out
}

func raw(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeFile(w http.ResponseWriter, status int, name string) {
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		panic(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(data)
}

// options returns options for the secret flow against f, with short
// retries.
func (f *fakeOrg) options() Options {
	return Options{
		Source:      "dyn",
		BaseURL:     f.srv.URL,
		Auth:        Auth{TenantID: testTenant, ClientID: testClient, ClientSecret: testSecret, TokenURL: f.srv.URL + "/" + testTenant + "/oauth2/v2.0/token"},
		PageSize:    2,
		Logger:      slog.New(slog.DiscardHandler),
		Attempts:    4,
		BackoffBase: time.Millisecond,
		BackoffMax:  5 * time.Millisecond,
	}
}

func (f *fakeOrg) connector(opts Options) *Connector {
	f.t.Helper()
	return conntest.New(f.t, New, opts)
}

// newCertificate returns a self-signed certificate and its key as PEM.
func newCertificate(t *testing.T) (*x509.Certificate, []byte, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "crmsync"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	return cert, certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}
