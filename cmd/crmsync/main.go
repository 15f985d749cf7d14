// Command crmsync syncs client portfolios from CRMs, flags clients that
// have gone quiet or high-value accounts that are slipping away, and sends
// re-engagement emails and Slack nudges. Run `crmsync help` for usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/internal/gcfloor"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// version is set at build time with -ldflags "-X main.version=..."; when
// empty, the module version the go command stamped is used.
var version = ""

// envConfig names the config file of commands run without -c.
const envConfig = "CRMSYNC_CONFIG"

const usage = `crmsync keeps a copy of your client portfolio, flags clients that went quiet
and high-value accounts slipping away, and nudges the right people.

Usage:
  crmsync demo [--dir DIR] [--now TIME] [--passes N] [--serve [--listen ADDR]]
                                              run the whole flow on a bundled sample, zero set-up
  crmsync run -c FILE [--evaluate-now]        worker + scheduler + HTTP server (long-running)
  crmsync evaluate -c FILE [--now TIME] [--dry-run] [--no-sync] [--timeout 10m]
                                              one pass now: sync, evaluate, deliver, report (cron, CI)
  crmsync sync -c FILE [--source NAME] [--full]
                                              one-shot sync, with progress
  crmsync config check -c FILE [--show]       validate config, rules and templates offline
  crmsync preview -c FILE [--rule NAME] [--account ID] [--owner OWNER] [--format table|json|csv]
                  [--show-messages] [--now TIME]
                                              dry run: who would be flagged now, why (or why not), and the messages
  crmsync sources describe -c FILE [--format text|json] NAME
                                              a monday source's boards: column ids, types and titles, to map them
  crmsync rules check FILE...                 lint rule files: every problem with line, column and a caret
  crmsync rules test FILE...                  run rule unit tests (fixture accounts, expected flags)
  crmsync history -c FILE [--account ID] [--contact EMAIL]
                                              what was sent, when, by which rule and why
  crmsync report -c FILE [--month 2026-11] [--format table|json|csv]
                                              the monthly review: portfolio, evolution, at-risk accounts by owner, outcomes
  crmsync resend -c FILE (--key KEY | --account ID)
                                              send again, on purpose, messages whose outcome is unknown
  crmsync suppress add|remove|check -c FILE [--reason TEXT] EMAIL...
                                              the local suppression list: never email these addresses
  crmsync healthcheck [--url URL]             exit 0 when /healthz on http.listen answers 200
                                              (the HEALTHCHECK of the container image)
  crmsync version                             print the version, VCS revision and whether modified

-c FILE defaults to $CRMSYNC_CONFIG; $CRMSYNC_HTTP_LISTEN replaces http.listen.
Every command takes --log-level debug|info|warn|error and --log-format text|json.
Run 'crmsync COMMAND --help' for a command's flags.
Exit status: 0 ok, 1 failure, 2 usage error.
(evaluate: 1 also when a message failed, has an unknown outcome or is
still queued when --timeout ends.)
`

// errUsage marks a command-line mistake (exit 2); the command already
// printed what is wrong.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	gcfloor.Start(ctx, gcfloor.DefaultFloor)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdout, stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errUsage):
		return exitUsage
	case errors.Is(err, errReported):
		return exitFailure
	default:
		fmt.Fprintf(stderr, "crmsync: %v\n", err)
		return exitFailure
	}
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "demo":
		return cmdDemo(ctx, rest, stdout, stderr)
	case "run":
		return cmdRun(ctx, rest, stdout, stderr)
	case "evaluate":
		return cmdEvaluate(ctx, rest, stdout, stderr)
	case "sync":
		return cmdSync(ctx, rest, stdout, stderr)
	case "config":
		if len(rest) == 0 || rest[0] != "check" {
			fmt.Fprint(stderr, "usage: crmsync config check -c FILE [--show]\n")
			return errUsage
		}
		return cmdConfigCheck(rest[1:], stdout, stderr)
	case "rules":
		return cmdRules(rest, stdout, stderr)
	case "sources":
		return cmdSources(ctx, rest, stdout, stderr)
	case "preview":
		return cmdPreview(ctx, rest, stdout, stderr)
	case "history":
		return cmdHistory(ctx, rest, stdout, stderr)
	case "report":
		return cmdReport(ctx, rest, stdout, stderr)
	case "suppress":
		return cmdSuppress(ctx, rest, stdout, stderr)
	case "resend":
		return cmdResend(ctx, rest, stdout, stderr)
	case "healthcheck":
		return cmdHealthcheck(ctx, rest, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "crmsync", buildVersion())
		return nil
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "crmsync: unknown command %q\n\n%s", cmd, usage)
		return errUsage
	}
}

// newFlags returns a flag set for a command, writing errors and help to
// stderr.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: crmsync %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, mapping flag errors to errUsage and rejecting
// positional arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "crmsync %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

// logFlags adds --log-level and --log-format and returns a constructor of
// the logger they describe.
func logFlags(fs *flag.FlagSet, defaultLevel string) func(io.Writer) (*slog.Logger, error) {
	level := fs.String("log-level", defaultLevel, "log level: debug, info, warn, error")
	format := fs.String("log-format", "text", "log format: text or json")
	return func(w io.Writer) (*slog.Logger, error) {
		var lv slog.Level
		if err := lv.UnmarshalText([]byte(*level)); err != nil {
			return nil, fmt.Errorf("--log-level: %w", err)
		}
		return newLogger(w, lv, *format)
	}
}

// configFlag adds -c / --config, $CRMSYNC_CONFIG by default.
func configFlag(fs *flag.FlagSet) *string {
	def := os.Getenv(envConfig)
	var path string
	fs.StringVar(&path, "c", def, "config file (required; default $"+envConfig+")")
	fs.StringVar(&path, "config", def, "config file (same as -c)")
	return &path
}

func requireConfig(fs *flag.FlagSet, path string) error {
	if path == "" {
		fmt.Fprintf(fs.Output(), "crmsync %s: -c FILE is required (or $%s)\n", fs.Name(), envConfig)
		fs.Usage()
		return errUsage
	}
	return nil
}

// loadConfig parses args of a command that needs -c FILE, then builds its
// logger and loads its config.
func loadConfig(fs *flag.FlagSet, args []string, path *string, logger func(io.Writer) (*slog.Logger, error), stderr io.Writer) (*config.Config, *slog.Logger, error) {
	if err := parse(fs, args); err != nil {
		return nil, nil, err
	}
	if err := requireConfig(fs, *path); err != nil {
		return nil, nil, err
	}
	log, err := logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "crmsync %s: %v\n", fs.Name(), err)
		return nil, nil, errUsage
	}
	log.Info("crmsync starting", append([]any{"command", fs.Name(), "config", *path}, readBuildInfo().logAttrs()...)...)
	cfg, err := config.Load(*path)
	return cfg, log, err
}

// buildInfo is what the binary says of its build: the version (the -X
// flag, else the module version), the VCS revision and whether the work
// tree had uncommitted changes, as the go command records them.
type buildInfo struct {
	Version  string
	Revision string // empty when built without VCS information
	Modified bool
}

// readBuildInfo reads the build information stamped in the binary.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: version}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	return b
}

// String reads "v1.2.0", "v1.2.0 (revision 0123456789ab)" or
// "dev (revision 0123456789ab, modified)".
func (b buildInfo) String() string {
	if b.Revision == "" {
		return b.Version
	}
	rev := b.Revision[:min(len(b.Revision), 12)]
	if b.Modified {
		return fmt.Sprintf("%s (revision %s, modified)", b.Version, rev)
	}
	return fmt.Sprintf("%s (revision %s)", b.Version, rev)
}

// logAttrs are the build's attributes in the start-up log line.
func (b buildInfo) logAttrs() []any {
	return []any{"version", b.Version, "revision", b.Revision, "modified", b.Modified}
}

// buildVersion is the version line of `crmsync version`.
func buildVersion() string { return readBuildInfo().String() }
