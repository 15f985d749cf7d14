package store

import (
	"context"
	"reflect"
	"testing"
)

func TestMergeGroups(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := open(t)
			g := map[string][]string{"hubspot:1": {"hubspot:1", "sellsy:9"}, "hubspot:2": {"hubspot:2", "legacy:A", "sellsy:8"}}
			if err := s.Records.SaveMergeGroups(ctx, g); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"hubspot:2", "legacy:A", "sellsy:8"} {
				got, err := s.Records.MergeGroup(ctx, id)
				if err != nil || !reflect.DeepEqual(got, g["hubspot:2"]) {
					t.Errorf("MergeGroup(%s) = %v, %v", id, got, err)
				}
			}
			// the next pass's groups replace these whole
			if err := s.Records.SaveMergeGroups(ctx, map[string][]string{"sellsy:9": {"sellsy:9", "legacy:A"}}); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Records.MergeGroup(ctx, "hubspot:1"); got != nil {
				t.Errorf("hubspot:1 still merged: %v", got)
			}
			if got, _ := s.Records.MergeGroup(ctx, "legacy:A"); !reflect.DeepEqual(got, []string{"sellsy:9", "legacy:A"}) {
				t.Errorf("legacy:A = %v", got)
			}
			if err := s.Records.SaveMergeGroups(ctx, nil); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Records.MergeGroup(ctx, "legacy:A"); got != nil || err != nil {
				t.Errorf("after clearing: %v, %v", got, err)
			}
		})
	}
}
