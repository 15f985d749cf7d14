package connectors

import (
	"context"
	"maps"
)

// Pager hands a pull's pages to its PageFunc, each carrying the watermark
// reached so far. A page keeps the watermark it was given after the
// hand-over (the store saves it once the page is written), so a Pager
// never changes one in place: Set copies it, and a puller that rebuilds
// it assigns a new map to WM.
type Pager struct {
	// WM is the watermark reached by the pages read so far. Read it
	// freely; move it with Set, or by assigning a map no page holds.
	WM    Watermark
	saved Watermark // the one the last page handed over carried
	fn    PageFunc
}

// NewPager returns a Pager at wm whose pages go to fn; from is the
// watermark the pull started at, so that nothing is handed over until
// there are records or the watermark moves past it.
func NewPager(wm, from Watermark, fn PageFunc) Pager {
	return Pager{WM: wm, saved: from, fn: fn}
}

// Set moves key of the watermark to value (an empty value drops the
// key), on a copy, since pages hold the previous one.
func (p *Pager) Set(key, value string) {
	if p.WM[key] == value {
		return
	}
	wm := p.WM.Clone()
	if value == "" {
		delete(wm, key)
	} else {
		wm[key] = value
	}
	p.WM = wm
}

// Emit hands page over with the watermark reached, unless it holds
// nothing and moves nothing. It returns the PageFunc's error.
func (p *Pager) Emit(ctx context.Context, page Page) error {
	if page.Len() == 0 && len(page.Rejects) == 0 && maps.Equal(p.WM, p.saved) {
		return nil
	}
	page.Watermark = p.WM
	p.saved = p.WM
	return p.fn(ctx, page)
}
