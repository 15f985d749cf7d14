package readahead

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestEach(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name      string
		n         int   // values read returns
		readFails int   // read fails at this call (1-based); 0: never
		fnFails   int   // fn fails at this value; -1: never
		want      []int // values fn got
		wantErr   error
	}{
		{"all", 5, 0, -1, []int{0, 1, 2, 3, 4}, nil},
		{"none", 0, 0, -1, nil, nil},
		{"read fails", 5, 3, -1, []int{0, 1}, boom},
		{"fn fails", 5, 0, 2, []int{0, 1, 2}, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			read := func(ctx context.Context) (int, bool, error) {
				calls++
				if calls == tt.readFails {
					return 0, false, boom
				}
				if calls > tt.n {
					return 0, false, nil
				}
				return calls - 1, true, ctx.Err()
			}
			var got []int
			err := Each(context.Background(), read, func(v int) error {
				got = append(got, v)
				if v == tt.fnFails {
					return boom
				}
				return nil
			})
			if !errors.Is(err, tt.wantErr) || !slices.Equal(got, tt.want) {
				t.Errorf("got %v, %v; want %v, %v", got, err, tt.want, tt.wantErr)
			}
			if tt.fnFails >= 0 && calls > tt.fnFails+3 {
				t.Errorf("read was called %d times after fn failed at %d: it reads one ahead only", calls, tt.fnFails)
			}
		})
	}
}
