package store

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/crmsync/crmsync/model"
)

// queueDeletions removes deleted records. A deleted account leaves the
// account index with its contacts and deals; a deleted contact or deal
// leaves the account it is filed under (read by readFiled into filedC and
// filedD). Deleting a record twice, or one never stored, is harmless.
func (s *Store) queueDeletions(ctx context.Context, pipe redis.Pipeliner, ds []model.Deletion, filedC, filedD map[string]filed) {
	for _, d := range ds {
		switch d.Entity {
		case model.EntityAccount:
			s.queueDeleteAccount(ctx, pipe, d.ID)
		case model.EntityContact:
			s.queueDeleteFiled(ctx, pipe, "contact", "contacts", d.ID, filedC)
		case model.EntityDeal:
			s.queueDeleteFiled(ctx, pipe, "deal", "deals", d.ID, filedD)
		case model.EntityOwner:
			pipe.Del(ctx, s.key("owner", d.ID))
		}
	}
}

func (s *Store) queueDeleteAccount(ctx context.Context, pipe redis.Pipeliner, id string) {
	pipe.ZRem(ctx, s.key("accounts"), id)
	pipe.Del(ctx, s.key("acct", id), s.key("contacts", id), s.key("deals", id))
}

// queueDeleteFiled removes a contact or deal: kind is its pointer key's
// prefix, hash the prefix of its account's hash.
func (s *Store) queueDeleteFiled(ctx context.Context, pipe redis.Pipeliner, kind, hash, id string, prev map[string]filed) {
	if acct := prev[id].account; acct != "" {
		pipe.HDel(ctx, s.key(hash, acct), id)
	}
	pipe.Del(ctx, s.key(kind, id))
	prev[id] = filed{}
}
