package ruletest

import "testing"

func TestEqual(t *testing.T) {
	seven := 7
	tests := []struct {
		name      string
		got, want any
		equal     bool
	}{
		{name: "with an int and a YAML int", got: 85, want: 85, equal: true},
		{name: "with an int and a YAML float", got: 85, want: 85.0, equal: true},
		{name: "with floats within tolerance", got: 0.1 + 0.2, want: 0.3, equal: true},
		{name: "with floats beyond tolerance", got: 0.45, want: 0.4500001, equal: false},
		{name: "with a pointer to an int", got: &seven, want: 7, equal: true},
		{name: "with nil and null", got: nil, want: nil, equal: true},
		{name: "with a nil pointer and null", got: (*int)(nil), want: nil, equal: true},
		{name: "with nil and a number", got: nil, want: 0, equal: false},
		{name: "with a number and null", got: 0, want: nil, equal: false},
		{name: "with the same text", got: "A", want: "A", equal: true},
		{name: "with another text", got: "A", want: "B", equal: false},
		{name: "with booleans", got: true, want: true, equal: true},
		{name: "with a boolean and its text", got: false, want: "true", equal: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := equal(tt.got, tt.want); got != tt.equal {
				t.Errorf("equal(%v, %v) = %t, want %t", tt.got, tt.want, got, tt.equal)
			}
		})
	}
}

func TestFormatFeatures(t *testing.T) {
	tests := []struct {
		name      string
		features  map[string]any
		lifecycle string
		want      string
	}{
		{
			name:      "with flat features",
			features:  map[string]any{"revenue_trend": 0.45, "abc": "A", "days_since_purchase": nil, "segment": ""},
			lifecycle: "customer",
			want:      `abc=A days_since_purchase=null lifecycle=customer revenue_trend=0.45 segment=""`,
		},
		{
			name:      "with nested features and a lifecycle of their own",
			features:  map[string]any{"rfm": map[string]any{"r": 5, "segment": "at risk"}, "lifecycle": "former"},
			lifecycle: "customer",
			want:      `lifecycle=former rfm.r=5 rfm.segment="at risk"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatFeatures(tt.features, tt.lifecycle); got != tt.want {
				t.Errorf("formatFeatures() = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	flat := flatten(map[string]any{"rfm_segment": "champions", "rfm": map[string]int{"r": 5}, "abc": "A"})
	tests := []struct {
		name   string
		want   any
		wantOK bool
	}{
		{name: "abc", want: "A", wantOK: true},
		{name: "rfm.r", want: 5, wantOK: true},
		{name: "rfm.segment", want: "champions", wantOK: true},
		{name: "rfm_segment", want: "champions", wantOK: true},
		{name: "rfm.f"},
	}
	for _, tt := range tests {
		t.Run("with "+tt.name, func(t *testing.T) {
			got, ok := lookup(flat, tt.name)
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("lookup(%q) = %v, %t; want %v, %t", tt.name, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
