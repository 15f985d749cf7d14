package rules

import (
	"reflect"
	"testing"
)

func TestClassifyABC(t *testing.T) {
	def := ABCCutoffs{A: 0.80, B: 0.95}
	tests := []struct {
		name string
		revs []Revenue
		cut  ABCCutoffs
		want map[string]string
	}{
		{name: "with no account", cut: def, want: map[string]string{}},
		{
			name: "with a single account",
			revs: []Revenue{{"a", 10}},
			cut:  def,
			want: map[string]string{"a": "A"}, // S_prev = 0
		},
		{
			name: "with S_prev exactly on the A cut-off",
			revs: []Revenue{{"y", 20}, {"x", 80}},
			cut:  def,
			want: map[string]string{"x": "A", "y": "B"}, // y: S_prev = 80/100 = 0.80, not < 0.80
		},
		{
			name: "with a tie broken by account id",
			revs: []Revenue{{"b", 50}, {"a", 50}},
			cut:  ABCCutoffs{A: 0.5, B: 0.9},
			want: map[string]string{"a": "A", "b": "B"}, // a first: S_prev 0; b: S_prev 0.5
		},
		{
			name: "with zero and negative revenue",
			revs: []Revenue{{"z", 0}, {"n", -5}, {"p", 1}},
			cut:  def,
			want: map[string]string{"z": "C", "n": "C", "p": "A"},
		},
		{
			name: "with a Pareto portfolio",
			revs: []Revenue{
				{"a01", 500}, {"a02", 200}, {"a03", 100}, {"a04", 80}, {"a05", 50},
				{"a06", 30}, {"a07", 20}, {"a08", 10}, {"a09", 5}, {"a10", 5}, {"a11", 0},
			},
			cut: def,
			// S_prev: 0, .5, .7, .8, .88, .93, .96, .98, .99, .995
			want: map[string]string{
				"a01": "A", "a02": "A", "a03": "A", "a04": "B", "a05": "B",
				"a06": "B", "a07": "C", "a08": "C", "a09": "C", "a10": "C", "a11": "C",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ClassifyABC(tt.revs, tt.cut)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ClassifyABC() = %v, want %v", got, tt.want)
			}
		})
	}
}
