package workers

import (
	"context"
	"fmt"
	"log/slog"
	"os"
)

// Logger adapts a *slog.Logger to asynq's printf-style Logger interface.
type Logger struct{ L *slog.Logger }

func (l Logger) log(level slog.Level, args []any) {
	l.L.Log(context.Background(), level, fmt.Sprint(args...), "component", "asynq")
}

// Debug logs at debug level.
func (l Logger) Debug(args ...any) { l.log(slog.LevelDebug, args) }

// Info logs at info level.
func (l Logger) Info(args ...any) { l.log(slog.LevelInfo, args) }

// Warn logs at warn level.
func (l Logger) Warn(args ...any) { l.log(slog.LevelWarn, args) }

// Error logs at error level.
func (l Logger) Error(args ...any) { l.log(slog.LevelError, args) }

// Fatal logs at error level and exits, as asynq expects of it.
func (l Logger) Fatal(args ...any) {
	l.log(slog.LevelError, args)
	os.Exit(1)
}
