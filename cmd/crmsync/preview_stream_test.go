package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/crmsync/crmsync/rules"
	"github.com/crmsync/crmsync/workers"
)

// TestWritePreviewJSONIsTheEncodersOutput: the streamed JSON is, byte for
// byte, what json.Encoder writes for the whole result at once.
func TestWritePreviewJSONIsTheEncodersOutput(t *testing.T) {
	account := &workers.AccountExplanation{AccountID: "crm:9", Account: "Nine <&>", Features: map[string]any{"days_inactive": 23}}
	explanations := []rules.Explanation{{Rule: "quiet", Conditions: []rules.Condition{{Expr: "days_inactive >= 90"}}}}
	tests := []struct {
		name string
		res  previewResult
	}{
		{"no flags", previewResult{Totals: previewTotalsOf(3, []string{"quiet"}, nil), Flags: []workers.Flag{}}},
		{"flags and a digest", previewResult{Totals: previewTotalsOf(40, nil, previewFlags), Flags: previewFlags}},
		{"with an account", previewResult{Totals: previewTotalsOf(40, nil, previewFlags), Flags: previewFlags, Account: account, Explanations: explanations}},
		{"an account without explanations", previewResult{Totals: previewTotalsOf(40, nil, nil), Flags: []workers.Flag{}, Account: account}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			if err := enc.Encode(&tt.res); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := writePreviewJSON(&got, &tt.res); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("streamed JSON differs:\n%s\nwant\n%s", got.String(), want.String())
			}
		})
	}
}
