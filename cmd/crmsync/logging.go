package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"
)

// newLogger returns the logger of --log-level and --log-format, and
// routes go-redis's own log lines through it, so that --log-format json
// writes JSON lines only.
func newLogger(w io.Writer, level slog.Level, format string) (*slog.Logger, error) {
	var h slog.Handler
	switch strings.ToLower(format) {
	case "text":
		h = slog.NewTextHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: mapsAsGroups})
	case "json":
		h = slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	default:
		return nil, fmt.Errorf("--log-format: want text or json, got %q", format)
	}
	l := slog.New(h)
	redis.SetLogger(redisLogger{l})
	return l, nil
}

// mapsAsGroups writes a map attribute as a group, so that text logs read
// flags.quiet=3 flags.at-risk=1 rather than flags=map[at-risk:1 quiet:3];
// keys are sorted, nested maps nest (messages.quiet.email=2), and an
// empty map reads {}.
func mapsAsGroups(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() != slog.KindAny {
		return a
	}
	v := reflect.ValueOf(a.Value.Any())
	if v.Kind() != reflect.Map {
		return a
	}
	if v.Len() == 0 {
		return slog.String(a.Key, "{}")
	}
	attrs := make([]slog.Attr, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		attrs = append(attrs, slog.Any(fmt.Sprint(it.Key().Interface()), it.Value().Interface()))
	}
	slices.SortFunc(attrs, func(x, y slog.Attr) int { return cmp.Compare(x.Key, y.Key) })
	return slog.Attr{Key: a.Key, Value: slog.GroupValue(attrs...)}
}

// redisLogger writes go-redis's log lines (reconnections, Sentinel
// failovers, pool trouble) as warnings of the component "redis".
type redisLogger struct{ l *slog.Logger }

// Printf implements go-redis's internal logging interface.
func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.Log(ctx, slog.LevelWarn, strings.TrimSpace(fmt.Sprintf(format, v...)), "component", "redis")
}
