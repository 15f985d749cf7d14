package slack

import (
	"testing"

	"github.com/crmsync/crmsync/notify"
)

// BenchmarkRender measures rendering one nudge and its channel copy, the
// per-message work of a pass's per_pass stage:
//
//	go test -run '^$' -bench Render -benchmem ./notify/slack/
func BenchmarkRender(b *testing.B) {
	for _, aud := range []struct {
		name string
		aud  Audience
	}{{"rep", ToRep}, {"channel", ToChannel}} {
		b.Run(aud.name, func(b *testing.B) {
			d := normalData()
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := Render(d, "", aud.aud); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRenderDigest measures a digest of 40 accounts (three messages).
func BenchmarkRenderDigest(b *testing.B) {
	dg := Digest{To: "#key-accounts", Channel: true, Locale: "en", Entries: digestEntries(40)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RenderDigest(dg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderResolved measures the note of a resolved flag.
func BenchmarkRenderResolved(b *testing.B) {
	d := notify.Data(normalData())
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := RenderResolved(d, ""); err != nil {
			b.Fatal(err)
		}
	}
}
