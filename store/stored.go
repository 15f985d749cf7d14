package store

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// A source's stored mark (<ns>:stored:<source>) says it may hold records:
// a PageWriter sets it before its sync's first page is written (claim),
// StorePage with every write. A sync that finds it unset reads from
// Redis only what its own pages wrote (knownIDs).

// storedSourcesScript reads a slice of the records hash (HSCAN from
// cursor ARGV[1], COUNT ARGV[2]) and returns the next cursor and the
// sources of the ids found, each once: the bundles stay in Redis.
var storedSourcesScript = redis.NewScript(`
local r = redis.call('HSCAN', KEYS[1], ARGV[1], 'COUNT', tonumber(ARGV[2]))
local out, seen = {r[1]}, {}
for i = 1, #r[2], 2 do
  local src = string.match(r[2][i], '^([^:]+):')
  if src and not seen[src] then
    seen[src] = true
    out[#out + 1] = src
  end
end
return out
`)

// markStored sets the stored mark of every source that holds a bundle:
// stores written before the marks existed (layout 8) would otherwise
// read as never written.
func (s *Records) markStored(ctx context.Context) error {
	sources := map[string]bool{}
	cursor := "0"
	for {
		res, err := storedSourcesScript.Run(ctx, s.rdb, []string{s.key("records")}, cursor, 1000).StringSlice()
		if err != nil {
			return err
		}
		if len(res) == 0 {
			return fmt.Errorf("stored sources: empty reply")
		}
		for _, src := range res[1:] {
			sources[src] = true
		}
		if cursor = res[0]; cursor == "0" {
			break
		}
	}
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for src := range sources {
			p.Set(ctx, s.key("stored", src), "1", 0)
		}
		return nil
	})
	return err
}
