package rules

import (
	"testing"

	"github.com/crmsync/crmsync/model"
	"github.com/crmsync/crmsync/notify"
)

func TestRenderTitle(t *testing.T) {
	rs, err := Parse("r.yaml", []byte(`
rules:
  - name: upsell
    description: Growing account worth an upsell call
    title: "Upsell:   {{ .Account.Name }}  ({{ .ABC }})"
    when: "true"
    activation: baseline
  - name: described
    description: "  Client with no recorded activity  "
    when: "true"
  - name: bare
    when: "true"
`))
	if err != nil {
		t.Fatal(err)
	}
	d := notify.Data{Account: model.Account{Name: "<!channel> & Co"}, ABC: "A"}
	tests := []struct {
		rule, want, activation string
	}{
		{"upsell", "Upsell: <!channel> & Co (A)", ActivationBaseline}, // plain text: channels escape it
		{"described", "Client with no recorded activity", ActivationImmediate},
		{"bare", "", ActivationImmediate},
	}
	for _, tt := range tests {
		r := rs.Rule(tt.rule)
		got, err := r.RenderTitle(d)
		if err != nil || got != tt.want || r.Activation != tt.activation {
			t.Errorf("%s: RenderTitle = %q, %v, activation %q; want %q, %q", tt.rule, got, err, r.Activation, tt.want, tt.activation)
		}
	}
}
