package chaos

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Modes of CRMSYNC_CHAOS.
const (
	modeShort = "short" // CI: small portfolios, one fault moment per family
	modeFull  = "full"  // every moment, bigger portfolios
)

var (
	// mode is CRMSYNC_CHAOS: "", modeShort or modeFull.
	mode = os.Getenv("CRMSYNC_CHAOS")
	// binary is the crmsync binary built for this run, or the one
	// CRMSYNC_CHAOS_BINARY names (a release, an older build).
	binary string
	// seedNow is the clock every portfolio of this run is seeded against,
	// so that a reference run and a chaos run see the same dates.
	seedNow = time.Now().UTC().Truncate(time.Minute)
)

// TestMain builds the binary once for every scenario, when the suite is
// enabled and CRMSYNC_CHAOS_BINARY names none.
func TestMain(m *testing.M) {
	flag.Parse()
	parallelism()
	var dir string
	if binary = os.Getenv("CRMSYNC_CHAOS_BINARY"); binary == "" && (mode == modeShort || mode == modeFull) {
		var err error
		dir, err = os.MkdirTemp("", "crmsync-chaos-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "chaos:", err)
			os.Exit(1)
		}
		binary = filepath.Join(dir, "crmsync")
		if err := build(binary); err != nil {
			fmt.Fprintln(os.Stderr, "chaos: building crmsync:", err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	if dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// parallelism lets the scenarios run together unless -parallel says
// otherwise: they spend their time waiting (for asynq to recover an
// orphaned task, for a tick), not computing, so the default of one test
// per CPU would serialise them on a small machine.
func parallelism() {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", "12")
	}
}

var (
	sourcesOnce sync.Once
	sourcesErr  error
)

// readSources reads the files the binary is built from (Go files, go.mod,
// go.sum and what they embed), so that go test's cache, which sees the
// files a test reads, never replays a result for a changed crmsync. It
// runs in the first test: reads in TestMain are not seen.
func readSources() error {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return err
	}
	built := map[string]bool{".go": true, ".mod": true, ".sum": true, ".tmpl": true, ".csv": true, ".yaml": true}
	return filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case e.IsDir() && (e.Name() == ".git" || e.Name() == "testdata"):
			return filepath.SkipDir
		case e.Type().IsRegular() && built[filepath.Ext(path)]:
			_, err = os.ReadFile(path)
		}
		return err
	})
}

// build compiles cmd/crmsync to out.
func build(out string) error {
	gobin, err := exec.LookPath("go") // go test puts GOROOT/bin first on PATH
	if err != nil {
		return err
	}
	cmd := exec.Command(gobin, "build", "-o", out, "github.com/crmsync/crmsync/cmd/crmsync")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// gate skips t unless the suite is enabled.
func gate(t *testing.T) {
	t.Helper()
	switch mode {
	case modeShort, modeFull:
		sourcesOnce.Do(func() { sourcesErr = readSources() })
		if sourcesErr != nil {
			t.Fatalf("reading the sources: %v", sourcesErr)
		}
	case "":
		t.Skip("chaos tests run with CRMSYNC_CHAOS=short or full: CRMSYNC_CHAOS=short go test -run Chaos -v ./internal/chaos/")
	default:
		t.Fatalf("CRMSYNC_CHAOS=%q: want %q or %q", mode, modeShort, modeFull)
	}
}

// full reports whether the whole suite runs, not only CI's share.
func full() bool { return mode == modeFull }
