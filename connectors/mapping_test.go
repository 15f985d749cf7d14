package connectors

import (
	"regexp"
	"strings"
	"testing"
)

func TestMappingCheckFields(t *testing.T) {
	lower := regexp.MustCompile(`^[a-z_]+$`).MatchString
	tests := []struct {
		name    string
		m       Mapping
		wantErr string // "" for none
	}{
		{name: "zero mapping", m: Mapping{}},
		{name: "every field valid", m: Mapping{
			Lifecycle:      LifecycleMapping{Field: "type"},
			PrimaryContact: PrimaryContactMapping{Field: "main", Property: "is_main"},
			Language:       LanguageMapping{Contact: "lang", Account: "lang"},
			LastActivity:   []string{"seen"},
			Extra:          []string{"tier"},
		}},
		{name: "lifecycle", m: Mapping{Lifecycle: LifecycleMapping{Field: "Type"}}, wantErr: `mapping: lifecycle field "Type": want lower`},
		{name: "primary contact field", m: Mapping{PrimaryContact: PrimaryContactMapping{Field: "x-y"}}, wantErr: `primary_contact field "x-y"`},
		{name: "primary contact property", m: Mapping{PrimaryContact: PrimaryContactMapping{Property: "X"}}, wantErr: `primary_contact property "X"`},
		{name: "contact language", m: Mapping{Language: LanguageMapping{Contact: "L"}}, wantErr: `language contact "L"`},
		{name: "account language", m: Mapping{Language: LanguageMapping{Account: "L"}}, wantErr: `language account "L"`},
		{name: "second last activity", m: Mapping{LastActivity: []string{"ok", "Bad"}}, wantErr: `last_activity 2 "Bad"`},
		{name: "second extra", m: Mapping{Extra: []string{"ok", "New Tier"}}, wantErr: `extra 2 "New Tier"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.m.CheckFields(lower, "want lower case")
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("CheckFields = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("CheckFields = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
