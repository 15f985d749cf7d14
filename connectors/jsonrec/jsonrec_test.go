package jsonrec

import (
	"encoding/json"
	"testing"
	"time"
)

type fields map[string]json.RawMessage

func (f fields) Raw(name string) json.RawMessage { return f[name] }

func read(t *testing.T, record string) *Reader[fields] {
	t.Helper()
	var f fields
	if err := json.Unmarshal([]byte(record), &f); err != nil {
		t.Fatal(err)
	}
	r := New(f, func(s string) (time.Time, error) { return time.Parse(time.RFC3339, s) })
	return &r
}

func TestReaderValues(t *testing.T) {
	r := read(t, `{"s":"a\u00e9","plain":"x","b":true,"n":1e3,"d":"2024-03-01",
		"t":"2024-03-02T10:00:00Z","o":{ "a": 1 },"lang":"French","nil":null}`)
	if got := r.Str("s"); got != "aé" {
		t.Errorf("Str(s) = %q", got)
	}
	if got := r.Str("plain"); got != "x" {
		t.Errorf("Str(plain) = %q", got)
	}
	if !r.Boolean("b") || r.Boolean("nil") {
		t.Error("Boolean")
	}
	if got := r.Number("n"); got != 1000 {
		t.Errorf("Number(n) = %v", got)
	}
	if got := r.Text("n"); got != "1000" {
		t.Errorf("Text(n) = %q", got)
	}
	if got := r.Text("o"); got != `{"a":1}` {
		t.Errorf("Text(o) = %q", got)
	}
	want := time.Date(2024, 3, 2, 10, 0, 0, 0, time.UTC)
	if got := r.Latest([]string{"d", "t", "nil"}); !got.Equal(want) {
		t.Errorf("Latest = %v, want %v", got, want)
	}
	if got := r.Extra([]string{"plain", "nil", "absent"}); len(got) != 1 || got["plain"] != "x" {
		t.Errorf("Extra = %v", got)
	}
	if got := r.Language("lang"); got != "fr" {
		t.Errorf("Language = %q", got)
	}
	if r.Err() != nil {
		t.Errorf("Err = %v", r.Err())
	}
}

func TestReaderFirstErrorSticks(t *testing.T) {
	tests := []struct {
		name string
		read func(r *Reader[fields])
		want string
	}{
		{"string", func(r *Reader[fields]) { r.Str("n") }, "field n: want a string, got a number"},
		{"boolean", func(r *Reader[fields]) { r.Boolean("s") }, "field s: want a boolean, got a string"},
		{"number", func(r *Reader[fields]) { r.Number("o") }, "field o: want a number, got an object"},
		{"date", func(r *Reader[fields]) { r.Date("s") }, `field s: unparseable date "x"`},
		{"datetime", func(r *Reader[fields]) { r.Datetime("s") }, `field s: unparseable datetime "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := read(t, `{"s":"x","n":2,"o":{}}`)
			tt.read(r)
			r.Number("s")
			if r.Err() == nil || r.Err().Error() != tt.want {
				t.Errorf("Err = %v, want %s", r.Err(), tt.want)
			}
		})
	}
}
