package salesforce

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

var scanCases = []string{
	`{}`, ` { "a" : 1 } `, `{"a":"x\"y\\u00e9\n","b":[1,-2.5e+3,{"c":null}],"d":true,"e":false}`,
	`{"k\u00e9y":0}`, `{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":.5}`, `{"a":1e}`, `{"a":tru}`, `{"a":"\x"}`,
	`{"a":"\u12"}`, "{\"a\":\"\x01\"}", `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1}}`, `{"a":[1,]}`, `{"a":[1 2]}`,
	`{"a":{"b":1}`, `[1]`, `"x"`, `null`, ``, `{"a":1} x`,
}

func TestObjectMembersAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, c := range scanCases {
		checkScan(t, c)
	}
}

func FuzzObjectMembers(f *testing.F) {
	for _, c := range scanCases {
		f.Add(c)
	}
	f.Fuzz(checkScan)
}

// checkScan checks objectMembers against encoding/json on one input.
func checkScan(t *testing.T, in string) {
	var want map[string]json.RawMessage
	wantErr := json.Unmarshal([]byte(in), &want) != nil || want == nil
	got, err := objectMembers([]byte(in), nil)
	if (err != nil) != wantErr {
		t.Fatalf("objectMembers(%q) error %v, encoding/json error %v", in, err, wantErr)
	}
	if err != nil {
		return
	}
	seen := map[string]bool{}
	for i := len(got) - 1; i >= 0; i-- { // the last of duplicate keys wins, as in encoding/json
		m := got[i]
		if !utf8.Valid(m.key) {
			return // encoding/json replaces invalid UTF-8 in keys; no field name has any
		}
		if seen[string(m.key)] {
			continue
		}
		seen[string(m.key)] = true
		if w, ok := want[string(m.key)]; !ok || strings.TrimSpace(string(w)) != string(m.value) {
			t.Fatalf("objectMembers(%q): %s = %s, encoding/json %s", in, m.key, m.value, w)
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("objectMembers(%q) = %d keys, encoding/json %d", in, len(seen), len(want))
	}
}

func TestDecodeQuery(t *testing.T) {
	t.Parallel()
	res, err := decodeQuery([]byte(`{"totalSize": 3, "done": false, "nextRecordsUrl": "/services/data/v66.0/query/01gX-2",
		"records": [{"Id": "a"}, 5, {"Id": "b"}]}`))
	if err != nil || res.TotalSize != 3 || res.Done || res.NextRecordsURL != "/services/data/v66.0/query/01gX-2" || len(res.Records) != 3 {
		t.Fatalf("decodeQuery = %+v, %v", res, err)
	}
	for _, bad := range []string{`{"done":true,"records":[{]}`, `{"done":false,"records":[]}`, `[]`, `{"totalSize":"3","done":true}`} {
		if _, err := decodeQuery([]byte(bad)); err == nil {
			t.Errorf("decodeQuery(%s) succeeded", bad)
		}
	}
}

func TestDecodeQueryNamesWhatIsWrong(t *testing.T) {
	t.Parallel()
	page := `{"totalSize":2,"done":true,"records":[{"Id":"001000000000001AAA"},{"Id":"001000000000002AAA"}]}`
	tests := map[string]string{
		page[:len(page)/2]:               "query answer: unexpected end of JSON input",
		"":                               "query answer: unexpected end of JSON input",
		"<html><body>Bad Gateway</body>": "query answer: invalid character '<' looking for beginning of value",
		`{"done":true,"records":[{]}`:    "query answer: invalid character ']' looking for beginning of object key string",
		`[]`:                             "query answer: not a JSON object",
		`{"done":false,"records":[]}`:    "query answer not done but without nextRecordsUrl",
	}
	for body, want := range tests {
		if _, err := decodeQuery([]byte(body)); err == nil || err.Error() != want {
			t.Errorf("decodeQuery(%.30q) = %v, want %q", body, err, want)
		}
	}
}
