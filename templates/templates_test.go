package templates

import (
	"io/fs"
	"testing"

	"github.com/crmsync/crmsync/model"
)

func TestFirstName(t *testing.T) {
	tests := []struct {
		name string
		in   *model.Contact
		want string
	}{
		{"nil contact", nil, ""},
		{"no first name", &model.Contact{LastName: "Doe"}, ""},
		{"padded", &model.Contact{FirstName: " Jane "}, "Jane"},
	}
	for _, tt := range tests {
		if got := FirstName(tt.in); got != tt.want {
			t.Errorf("%s: FirstName = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestFSHoldsBuiltins(t *testing.T) {
	for _, name := range []string{
		"email/reengage-90d.txt.tmpl", "email/reengage-90d.html.tmpl",
		"email/high-value-checkin.txt.tmpl", "email/high-value-checkin.html.tmpl",
	} {
		if _, err := fs.Stat(FS, name); err != nil {
			t.Errorf("built-in %s: %v", name, err)
		}
	}
}

func TestFuncsFor(t *testing.T) {
	fr := FuncsFor("fr", "EUR")
	money := fr["money"].(func(float64, ...string) (string, error))
	if got, err := money(12345.6); err != nil || got != "12\u202f346\u202f€" {
		t.Errorf("fr money = %q, %v", got, err)
	}
	if got, _ := money(12345.6, "USD"); got != "12\u202f346\u202f$US" {
		t.Errorf("fr money in USD = %q", got)
	}
	if _, err := money(1, "EUR", "USD"); err == nil {
		t.Error("money with two currencies: no error")
	}
	en := Funcs()["money"].(func(float64, ...string) (string, error))
	if got, _ := en(12345.6); got != "12,346" {
		t.Errorf("default money = %q, want the bare English amount", got)
	}
	if got := FuncsFor("fr", "")["days"].(func(int) string)(2); got != "2 jours" {
		t.Errorf("fr days = %q", got)
	}
}
