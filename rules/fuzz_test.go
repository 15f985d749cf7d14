package rules

import (
	"bytes"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/crmsync/crmsync/model"
)

// checkErrors fails t unless every error in err is an *Error of file
// located inside data.
func checkErrors(t *testing.T, err error, file string, data []byte) {
	t.Helper()
	lines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) + 1 // YAML also breaks lines at \r
	for _, e := range Errors(err) {
		if e.File != file || e.Line < 1 || e.Line > lines || e.Col < 1 {
			t.Errorf("error outside the file: %v", e)
		}
	}
	if err != nil && len(Errors(err)) == 0 {
		t.Errorf("error without position: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(evalRules))
	f.Add([]byte("segmentation:\n  abc: {a: 0.8, b: 0.95}\nrules: []\n"))
	f.Add([]byte("rules:\n  - name: a\n    when: |\n      days_inactiv > 1\n"))
	f.Add([]byte("rules:\n  - &r {name: a, when: \"true\"}\n  - *r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := Parse("f.yaml", data)
		if (rs == nil) == (err == nil) {
			t.Fatalf("Parse() = %v, %v: want exactly one of a rule set and an error", rs, err)
		}
		checkErrors(t, err, "f.yaml", data)
	})
}

func FuzzWhen(f *testing.F) {
	for _, s := range []string{
		`account.lifecycle == "customer" && days_inactive >= 90`,
		`abc == "A" && (revenue_trend < 0.5 || days_inactive >= 60)`,
		`abc == "A" && days_since_purchase >= 60 && (revenue_trend < 0.5 || days_inactive >= 60)`,
		`days_since_purchase > 30`, `contacts[0].primary`, `days_inactiv > 1`,
		"a\n  && b", `"\u00e9" == 'x'`, `1 / 0 > 1`,
	} {
		f.Add(s)
	}
	clients := []*model.Client{
		{},
		{Account: model.Account{CreatedAt: ago(100 * day)}, Contacts: []model.Contact{{Primary: true}},
			Deals: []model.Deal{won(10, ago(day))}, Owner: &model.Owner{Name: "o"}},
	}
	f.Fuzz(func(t *testing.T, when string) {
		doc := map[string]any{"rules": []map[string]any{{"name": "r", "when": when}}}
		data, err := yaml.Marshal(doc)
		if err != nil {
			t.Skip()
		}
		rs, err := Parse("w.yaml", data)
		checkErrors(t, err, "w.yaml", data)
		if err != nil {
			return
		}
		for _, c := range clients {
			_, _ = rs.Evaluate(testNow, c, Compute(testNow, c))
		}
	})
}
