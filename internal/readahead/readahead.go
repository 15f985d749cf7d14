// Package readahead runs a sequence of reads one step ahead of the code
// that uses them, so that the next read overlaps with the work on the
// last: a pass reads the next thousand accounts while it scores these.
package readahead

import "context"

// Each calls fn with each value read returns, in order, until read
// reports no more (ok false) or fails, reading the next value while fn
// works on the last. It returns the first error of read or fn, once read
// has stopped; read's context is canceled when fn fails.
func Each[T any](ctx context.Context, read func(ctx context.Context) (v T, ok bool, err error), fn func(T) error) error {
	type item struct {
		v   T
		err error
	}
	items := make(chan item, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		for range items { // wait for the reader to stop
		}
	}()
	go func() {
		defer close(items)
		for {
			v, ok, err := read(ctx)
			if err == nil && !ok {
				return
			}
			select {
			case items <- item{v, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	for it := range items {
		if it.err != nil {
			return it.err
		}
		if err := fn(it.v); err != nil {
			return err
		}
	}
	return nil
}
