package connectors

import (
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/crmsync/crmsync/model"
)

func TestPager(t *testing.T) {
	// op is one step of a pull: set key to value, or emit a page with
	// accounts records.
	type op struct {
		set, value string
		emit       bool
		accounts   int
	}
	emit := func(n int) op { return op{emit: true, accounts: n} }
	tests := []struct {
		name string
		from Watermark
		ops  []op
		want []Watermark // the watermark of each page handed over
	}{
		{
			name: "empty page at the start watermark is not handed over",
			from: Watermark{"a": "1"},
			ops:  []op{emit(0)},
		},
		{
			name: "page with records carries the watermark reached",
			from: Watermark{"a": "1"},
			ops:  []op{{set: "a", value: "2"}, emit(3)},
			want: []Watermark{{"a": "2"}},
		},
		{
			name: "empty page that moves the watermark is handed over once",
			from: Watermark{"a": "1"},
			ops:  []op{{set: "b", value: "x"}, emit(0), emit(0)},
			want: []Watermark{{"a": "1", "b": "x"}},
		},
		{
			name: "setting the same value moves nothing",
			from: Watermark{"a": "1"},
			ops:  []op{{set: "a", value: "1"}, emit(0)},
		},
		{
			name: "an empty value drops the key",
			from: Watermark{"a": "1", "b": "2"},
			ops:  []op{{set: "b"}, emit(0)},
			want: []Watermark{{"a": "1"}},
		},
		{
			name: "earlier pages keep their watermark",
			from: nil,
			ops:  []op{{set: "a", value: "1"}, emit(1), {set: "a", value: "2"}, emit(1), {set: "a"}, emit(0)},
			want: []Watermark{{"a": "1"}, {"a": "2"}, {}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []Page
			var snapshots []Watermark // each page's watermark as handed over
			p := NewPager(tt.from.Clone(), tt.from, func(_ context.Context, pg Page) error {
				got = append(got, pg)
				snapshots = append(snapshots, pg.Watermark.Clone())
				return nil
			})
			for _, o := range tt.ops {
				if !o.emit {
					p.Set(o.set, o.value)
					continue
				}
				var pg Page
				for range o.accounts {
					pg.Accounts = append(pg.Accounts, model.Account{})
				}
				if err := p.Emit(t.Context(), pg); err != nil {
					t.Fatal(err)
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d pages handed over, want %d: %v", len(got), len(tt.want), snapshots)
			}
			for i, pg := range got {
				if !maps.Equal(pg.Watermark, tt.want[i]) || !maps.Equal(pg.Watermark, snapshots[i]) {
					t.Errorf("page %d: watermark %v (handed over as %v), want %v", i, pg.Watermark, snapshots[i], tt.want[i])
				}
			}
		})
	}
}

func TestPagerEmitReturnsPageFuncError(t *testing.T) {
	stop := errors.New("stop")
	p := NewPager(Watermark{}, nil, func(context.Context, Page) error { return stop })
	p.Set("a", "1")
	if err := p.Emit(t.Context(), Page{}); !errors.Is(err, stop) {
		t.Fatalf("Emit = %v, want the PageFunc's error", err)
	}
}
