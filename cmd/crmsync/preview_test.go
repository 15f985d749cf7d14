package main

import (
	"strings"
	"testing"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/workers"
)

func TestPrintPreviewHeldBack(t *testing.T) {
	tests := []struct {
		name string
		held []string
		want string // the held back line; "" for none
	}{
		{"nothing held back", nil, ""},
		{"an invalid address", []string{"invalid_email name@mail"}, "    held back: invalid email name@mail\n"},
		{"an address with underscores", []string{"invalid_email ann_lee@company-name"}, "    held back: invalid email ann_lee@company-name\n"},
		{"several reasons", []string{"inhibited", "cooldown until 2026-12-01 07:00:00", "frequency_cap", "opted_out"},
			"    held back: inhibited, cooldown until 2026-12-01 07:00:00, frequency cap, opted out\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			printPreview(&b, []workers.Flag{{
				Rule: "inactive-90-days", AccountID: "crm:1", Account: "Acme", HeldBack: tt.held,
				Messages: []notify.Message{{Channel: notify.Slack, To: "#sales", Text: "Acme is quiet"}},
			}})
			out := b.String()
			if tt.want == "" {
				if strings.Contains(out, "held back") {
					t.Errorf("preview shows a held back line:\n%s", out)
				}
				return
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("preview lacks %q:\n%s", tt.want, out)
			}
		})
	}
}
