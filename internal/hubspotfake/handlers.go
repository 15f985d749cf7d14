package hubspotfake

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// defaultProperties are the properties HubSpot returns when a request
// names none.
var defaultProperties = map[Kind][]string{
	Contacts:  {"createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"},
	Companies: {"createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"},
	Deals:     {"amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate", "hs_object_id", "pipeline"},
}

// properties returns the sorted properties to write: those requested plus
// the ones HubSpot always adds, or the defaults when none are requested.
func properties(kind Kind, requested []string) []string {
	if len(requested) == 0 {
		return defaultProperties[kind]
	}
	ps := append(slices.Clone(requested), "hs_object_id", "createdate", kind.ModifiedProperty())
	ps = slices.DeleteFunc(ps, func(p string) bool { return p == "" })
	slices.Sort(ps)
	return slices.Compact(ps)
}

// csv returns the comma-separated values of every occurrence of key.
func csv(q url.Values, key string) []string {
	var out []string
	for _, v := range q[key] {
		out = append(out, strings.Split(v, ",")...)
	}
	return out
}

// intParam reads an integer query parameter in [lo, hi], def when absent.
func intParam(q url.Values, key string, def, lo, hi int) (int, error) {
	v := q.Get(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("Invalid input: %s must be an integer between %d and %d, got %q", key, lo, hi, v)
	}
	return n, nil
}

// boolParam reads a boolean query parameter, false when absent.
func boolParam(q url.Values, key string) (bool, error) {
	switch q.Get(key) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, fmt.Errorf("Invalid input: %s must be true or false", key)
}

// list answers GET /crm/v3/objects/{kind}.
func (s *Server) list(kind Kind, req Request) reply {
	q := req.Query
	limit, err := intParam(q, "limit", 10, 1, MaxListLimit)
	if err != nil {
		return s.validation(err.Error())
	}
	archived, err := boolParam(q, "archived")
	if err != nil {
		return s.validation(err.Error())
	}
	var after int64
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			return s.validation(fmt.Sprintf("Invalid input: after %q is not a valid paging cursor", v))
		}
	}
	enc := objectJSON{
		kind:       kind,
		props:      properties(kind, csv(q, "properties")),
		assoc:      slices.Contains(csv(q, "associations"), "companies") && kind != Companies,
		archivedAt: archived,
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[kind]
	var b bytes.Buffer
	b.WriteString(`{"results":[`)
	n := 0
	var next int64 = -1
	for _, r := range t.order[t.from(after):] {
		if r.Archived != archived {
			continue
		}
		if n == limit {
			next = r.num
			break
		}
		if n > 0 {
			b.WriteByte(',')
		}
		enc.write(&b, r)
		n++
	}
	b.WriteByte(']')
	if next >= 0 {
		q2 := url.Values{}
		for k, v := range q {
			q2[k] = v
		}
		q2.Set("after", strconv.FormatInt(next, 10))
		b.WriteString(`,"paging":{"next":{"after":`)
		appendString(&b, strconv.FormatInt(next, 10))
		b.WriteString(`,"link":`)
		appendString(&b, s.srv.URL+req.Path+"?"+q2.Encode())
		b.WriteString(`}}`)
	}
	b.WriteByte('}')
	return jsonReply(http.StatusOK, &b)
}

// listOwners answers GET /crm/v3/owners. Its cursor is opaque (base64, as
// HubSpot's), served URL-escaped as in HubSpot's examples.
func (s *Server) listOwners(req Request) reply {
	q := req.Query
	limit, err := intParam(q, "limit", 100, 1, MaxOwnersLimit)
	if err != nil {
		return s.validation(err.Error())
	}
	archived, err := boolParam(q, "archived")
	if err != nil {
		return s.validation(err.Error())
	}
	start := 0
	if v := q.Get("after"); v != "" {
		if start, err = decodeOwnerCursor(v); err != nil {
			return s.validation(fmt.Sprintf("Invalid input: after %q is not a valid paging cursor", v))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var match []Owner
	for _, o := range s.owners {
		if o.Archived == archived && (q.Get("email") == "" || q.Get("email") == o.Email) {
			match = append(match, o)
		}
	}
	var b bytes.Buffer
	b.WriteString(`{"results":[`)
	end := min(start+limit, len(match))
	for i := start; i < end; i++ {
		if i > start {
			b.WriteByte(',')
		}
		writeOwner(&b, match[i])
	}
	b.WriteByte(']')
	if end < len(match) {
		c := url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(strconv.Itoa(end))))
		b.WriteString(`,"paging":{"next":{"after":`)
		appendString(&b, c)
		b.WriteString(`,"link":`)
		appendString(&b, s.srv.URL+OwnersPath+"?limit="+strconv.Itoa(limit)+"&after="+c)
		b.WriteString(`}}`)
	}
	b.WriteByte('}')
	return jsonReply(http.StatusOK, &b)
}

// decodeOwnerCursor reads an owners cursor, URL-escaped or not.
func decodeOwnerCursor(v string) (int, error) {
	if u, err := url.QueryUnescape(v); err == nil {
		v = u
	}
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad cursor")
	}
	return n, nil
}

func writeOwner(b *bytes.Buffer, o Owner) {
	b.WriteString(`{"id":`)
	appendString(b, o.ID)
	b.WriteString(`,"email":`)
	appendString(b, o.Email)
	b.WriteString(`,"type":"PERSON","firstName":`)
	appendString(b, o.FirstName)
	b.WriteString(`,"lastName":`)
	appendString(b, o.LastName)
	fmt.Fprintf(b, `,"userId":%d,"userIdIncludingInactive":%d`, o.UserID, o.UserID)
	b.WriteString(`,"createdAt":"2019-10-30T03:30:17.883Z","updatedAt":"2024-02-01T10:00:00.000Z","archived":`)
	b.WriteString(strconv.FormatBool(o.Archived))
	b.WriteString(`,"teams":[]}`)
}

// accountInfo answers GET /account-info/v3/details.
func (s *Server) accountInfo(Request) reply {
	s.mu.Lock()
	fail := s.infoFail
	s.mu.Unlock()
	if fail == http.StatusForbidden {
		return reply{status: fail, body: []byte(MissingScopesBody("account-info.security.read"))}
	}
	if fail != 0 {
		return reply{status: fail, body: []byte(s.defaultBody(fail))}
	}
	offset := 0
	if loc, err := time.LoadLocation(s.opts.TimeZone); err == nil {
		_, offset = s.now().In(loc).Zone()
	}
	sign, off := "+", offset
	if off < 0 {
		sign, off = "-", -off
	}
	body := fmt.Sprintf(`{"portalId":%d,"accountType":"STANDARD","timeZone":%q,"companyCurrency":"USD","additionalCurrencies":[],"utcOffset":"%s%02d:%02d","utcOffsetMilliseconds":%d,"uiDomain":%q,"dataHostingLocation":"na1"}`,
		s.opts.PortalID, s.opts.TimeZone, sign, off/3600, off%3600/60, offset*1000, s.opts.UIDomain)
	return reply{status: http.StatusOK, body: []byte(body)}
}

// token answers the refresh-token grant of POST /oauth/v1/token.
func (s *Server) token(r *http.Request, req Request) reply {
	if req.Method != http.MethodPost {
		return s.errorReply(http.StatusMethodNotAllowed, "VALIDATION_ERROR", "Method not allowed")
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return s.tokenError("BAD_REQUEST", "content type must be application/x-www-form-urlencoded")
	}
	form, err := url.ParseQuery(string(req.Body))
	if err != nil {
		return s.tokenError("BAD_REQUEST", "malformed form body")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case form.Get("grant_type") != "refresh_token":
		return s.tokenError("BAD_GRANT_TYPE", "unsupported grant_type")
	case s.opts.ClientID == "" || form.Get("client_id") != s.opts.ClientID:
		return s.tokenError("BAD_CLIENT_ID", "missing or invalid client_id")
	case form.Get("client_secret") != s.opts.ClientSecret:
		return s.tokenError("BAD_CLIENT_SECRET", "missing or invalid client_secret")
	case s.refresh == "" || form.Get("refresh_token") != s.refresh:
		return s.tokenError("BAD_REFRESH_TOKEN", "missing or unknown refresh token")
	}
	access := "fake-access-" + randomHex()
	s.tokens[access] = s.now().Add(s.opts.TokenTTL)
	if s.opts.RotateRefreshTokens {
		s.refresh = "fake-refresh-" + randomHex()
	}
	body := fmt.Sprintf(`{"token_type":"bearer","refresh_token":%q,"access_token":%q,"expires_in":%d,"hub_id":%d,"scopes":["crm.objects.contacts.read","crm.objects.companies.read","crm.objects.deals.read","crm.objects.owners.read","oauth"],"token_use":"access_token"}`,
		s.refresh, access, int(s.opts.TokenTTL/time.Second), s.opts.PortalID)
	return reply{status: http.StatusOK, body: []byte(body)}
}

// tokenError is the token endpoint's 400 body, which has its own shape.
func (s *Server) tokenError(status, message string) reply {
	var b bytes.Buffer
	b.WriteString(`{"status":`)
	appendString(&b, status)
	b.WriteString(`,"message":`)
	appendString(&b, message)
	b.WriteString(`,"correlationId":`)
	appendString(&b, s.correlationID())
	b.WriteString(`,"requestId":`)
	appendString(&b, s.correlationID())
	b.WriteString(`}`)
	return reply{status: http.StatusBadRequest, body: b.Bytes()}
}

func randomHex() string {
	var b [12]byte
	rand.Read(b[:])
	return fmt.Sprintf("%x", b)
}

// batchInput is the body of a v4 association batch read.
type batchInput struct {
	Inputs []struct {
		ID    string `json:"id"`
		After string `json:"after,omitempty"`
	} `json:"inputs"`
}

// batchAssociations answers POST
// /crm/v4/associations/{from}/{to}/batch/read for associations with
// companies: found ones in results, the others in errors (207).
func (s *Server) batchAssociations(req Request) reply {
	parts := strings.Split(strings.TrimPrefix(req.Path, "/crm/v4/associations/"), "/")
	if len(parts) != 4 || parts[2] != "batch" || parts[3] != "read" {
		return s.notFound()
	}
	from, to := Kind(parts[0]), parts[1]
	if _, ok := s.tables[from]; !ok {
		return s.validation(fmt.Sprintf("Unable to infer object type from: %s", parts[0]))
	}
	var in batchInput
	if err := strictDecode(req.Body, &in); err != nil {
		return s.validation("Invalid input JSON: " + err.Error())
	}
	if len(in.Inputs) == 0 || len(in.Inputs) > MaxBatchInputs {
		return s.validation(fmt.Sprintf("Invalid input: inputs must hold between 1 and %d items, got %d", MaxBatchInputs, len(in.Inputs)))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := isoMillis(s.now())
	var res, errs bytes.Buffer
	nres, nerr := 0, 0
	for _, input := range in.Inputs {
		r, ok := s.tables[from].byID[input.ID]
		if !ok || r.Archived || to != "companies" || len(r.Companies) == 0 {
			if nerr > 0 {
				errs.WriteByte(',')
			}
			nerr++
			fmt.Fprintf(&errs, `{"status":"error","category":"OBJECT_NOT_FOUND","subCategory":"crm.associations.NO_ASSOCIATIONS_FOUND","context":{"fromObjectId":[%q]},"message":"No %s is associated with %s %s."}`, input.ID, to, from, input.ID)
			continue
		}
		if nres > 0 {
			res.WriteByte(',')
		}
		nres++
		s.writeAssociationResult(&res, from, r)
	}
	var b bytes.Buffer
	b.WriteString(`{"status":"COMPLETE","results":[`)
	b.Write(res.Bytes())
	b.WriteString(`]`)
	status := http.StatusOK
	if nerr > 0 {
		status = http.StatusMultiStatus
		fmt.Fprintf(&b, `,"numErrors":%d,"errors":[`, nerr)
		b.Write(errs.Bytes())
		b.WriteString(`]`)
	}
	fmt.Fprintf(&b, `,"startedAt":%q,"completedAt":%q}`, now, now)
	return jsonReply(status, &b)
}

// writeAssociationResult writes one PublicAssociationMultiWithLabel.
func (s *Server) writeAssociationResult(b *bytes.Buffer, from Kind, r *record) {
	primary, plain := TypeContactPrimaryCompany, TypeContactCompany
	if from == Deals {
		primary, plain = TypeDealPrimaryCompany, TypeDealCompany
	}
	b.WriteString(`{"from":{"id":`)
	appendString(b, r.ID)
	b.WriteString(`},"to":[`)
	for i, a := range r.Companies {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"toObjectId":`)
		appendString(b, a.CompanyID)
		b.WriteString(`,"associationTypes":[`)
		if a.Primary {
			fmt.Fprintf(b, `{"category":"HUBSPOT_DEFINED","typeId":%d,"label":"Primary"},`, primary)
		}
		fmt.Fprintf(b, `{"category":"HUBSPOT_DEFINED","typeId":%d,"label":null}`, plain)
		for _, l := range a.Labels {
			fmt.Fprintf(b, `,{"category":"USER_DEFINED","typeId":%d,"label":`, s.labelType(l))
			appendString(b, l)
			b.WriteByte('}')
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`]}`)
}

// labelType returns the type id of a user-defined label.
func (s *Server) labelType(label string) int {
	i := slices.Index(s.labels, label)
	if i < 0 {
		s.labels = append(s.labels, label)
		i = len(s.labels) - 1
	}
	return 100 + i
}

// strictDecode decodes body into v, refusing unknown fields and trailing
// data, as HubSpot's input validation does.
func strictDecode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON object")
	}
	return nil
}
