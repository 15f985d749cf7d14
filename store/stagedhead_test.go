package store

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/crmsync/crmsync/notify"
)

func TestStagedHeadCodec(t *testing.T) {
	heads := []StagedHead{
		{Rule: "quiet", Account: "hubspot:1", ABC: "A", Revenue: 1234.5, Channels: []notify.Channel{notify.Email, notify.Slack},
			Cooldown: true, Keys: []string{"k1", "k2"}, Inhibited: true},
		{Rule: "r", Account: "csv:é<!channel>", ABC: "", Revenue: 0},
		{Rule: "r", Account: "a", ABC: "C", Revenue: -0.25, Channels: []notify.Channel{notify.Slack}}, // staged whole: no keys
		{Rule: "r", Account: "b", ABC: "B", Revenue: 7, Channels: []notify.Channel{notify.Email}, Keys: []string{"k"}, CooldownDue: true},
	}
	for _, h := range heads {
		t.Run(h.Account, func(t *testing.T) {
			b, err := h.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var got StagedHead
			if err := got.UnmarshalBinary(b); err != nil || !reflect.DeepEqual(got, h) {
				t.Errorf("compact: got %+v, %v; want %+v", got, err, h)
			}
			js, _ := json.Marshal(&h) // an earlier crmsync's head
			got = StagedHead{}
			if err := got.UnmarshalBinary(js); err != nil || !reflect.DeepEqual(got, h) {
				t.Errorf("JSON: got %+v, %v; want %+v", got, err, h)
			}
		})
	}
}

func TestStagedHeadCodecCorrupt(t *testing.T) {
	whole, _ := (&StagedHead{Rule: "quiet", Account: "a", ABC: "B", Revenue: 1, Keys: []string{"key"}}).MarshalBinary()
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"unknown version", append([]byte{9}, whole[1:]...)},
		{"truncated in the revenue", whole[:10]},
		{"truncated in a key", whole[:len(whole)-1]},
		{"trailing bytes", append(append([]byte{}, whole...), 0)},
		{"count beyond the end", append(append([]byte{}, whole[:len(whole)-5]...), 0xff, 0x7f)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h StagedHead
			if err := h.UnmarshalBinary(tt.b); !errors.Is(err, errCorrupt) {
				t.Errorf("UnmarshalBinary = %v, want errCorrupt", err)
			}
		})
	}
}
