package main

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// repoRoot is the repository root, seen from this package.
const repoRoot = "../.."

// composeFile is the part of compose.yaml these tests read.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       string            `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

func readCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for k := range raw {
		if !slices.Contains([]string{"name", "services", "volumes"}, k) {
			t.Errorf("compose.yaml: unexpected top-level key %q", k)
		}
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return c
}

// mount is one "source:target[:ro]" entry of a service's volumes.
type mount struct{ source, target string }

func mounts(t *testing.T, s composeService) []mount {
	t.Helper()
	var out []mount
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 || (len(parts) == 3 && parts[2] != "ro") {
			t.Errorf("volume %q: want SOURCE:TARGET[:ro]", v)
			continue
		}
		out = append(out, mount{parts[0], parts[1]})
	}
	return out
}

// TestComposeFile checks compose.yaml the way `docker compose config`
// would, and more, without a Docker engine: Redis with its append-only file
// and no eviction on a volume, crmsync built from this repository's
// Dockerfile, every bind mount's source present in the repository, every
// named volume declared, the command and the health check ones crmsync
// accepts.
func TestComposeFile(t *testing.T) {
	c := readCompose(t)
	redis, ok := c.Services["redis"]
	if !ok {
		t.Fatal("compose.yaml: no redis service")
	}
	cmd := strings.Join(redis.Command, " ")
	for _, want := range []string{"redis-server", "--appendonly yes", "--maxmemory-policy noeviction"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("redis command %q lacks %q", cmd, want)
		}
	}
	if !strings.HasPrefix(redis.Image, "redis:") {
		t.Errorf("redis image = %q", redis.Image)
	}
	if !slices.Contains(mounts(t, redis), mount{"redis-data", "/data"}) {
		t.Errorf("redis volumes = %v: want redis-data:/data (the append-only file)", redis.Volumes)
	}
	app, ok := c.Services["crmsync"]
	if !ok {
		t.Fatal("compose.yaml: no crmsync service")
	}
	if _, err := os.Stat(filepath.Join(repoRoot, app.Build, "Dockerfile")); err != nil {
		t.Errorf("crmsync build %q: %v", app.Build, err)
	}
	if app.DependsOn["redis"].Condition != "service_healthy" {
		t.Errorf("crmsync depends_on = %v: want redis, service_healthy", app.DependsOn)
	}
	for name, s := range c.Services {
		for _, m := range mounts(t, s) {
			if !path.IsAbs(m.target) {
				t.Errorf("%s: volume target %q is not absolute", name, m.target)
			}
			if strings.HasPrefix(m.source, ".") {
				if _, err := os.Stat(filepath.Join(repoRoot, m.source)); err != nil {
					t.Errorf("%s: bind mount source: %v", name, err)
				}
			} else if _, ok := c.Volumes[m.source]; !ok {
				t.Errorf("%s: volume %q is not declared under volumes", name, m.source)
			}
		}
	}
	// The command and the health check are ones this binary accepts: with
	// --help appended, flags are parsed and nothing runs.
	for _, args := range [][]string{app.Command, app.Healthcheck.Test[2:]} {
		if code, _, stderr := runCLI(t, append(slices.Clone(args), "--help")...); code != exitOK {
			t.Errorf("crmsync %v: exit %d: %s", args, code, stderr)
		}
	}
	if h := app.Healthcheck.Test; len(h) < 3 || h[0] != "CMD" || h[1] != "/usr/local/bin/crmsync" || h[2] != "healthcheck" {
		t.Errorf("crmsync healthcheck = %v: want CMD /usr/local/bin/crmsync healthcheck", h)
	}
}

// TestComposeConfigLoads: the config compose.yaml mounts loads and passes
// `crmsync config check` as the container sees it: its files where the
// mounts put them, the service's environment set.
func TestComposeConfigLoads(t *testing.T) {
	c := readCompose(t)
	app := c.Services["crmsync"]
	root := t.TempDir()
	for _, m := range mounts(t, app) {
		if !strings.HasPrefix(m.source, ".") {
			continue
		}
		src, err := filepath.Abs(filepath.Join(repoRoot, m.source))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(root, filepath.FromSlash(m.target))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(src, dst); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range app.Environment {
		t.Setenv(k, v)
	}
	cfgPath := app.Environment["CRMSYNC_CONFIG"]
	if cfgPath == "" {
		t.Fatal("crmsync service: CRMSYNC_CONFIG not set")
	}
	code, stdout, stderr := runCLI(t, "config", "check", "-c", filepath.Join(root, filepath.FromSlash(cfgPath)), "--show")
	if code != exitOK {
		t.Fatalf("config check: exit %d: %s%s", code, stdout, stderr)
	}
	for _, want := range []string{"url: <secret>", "listen: 0.0.0.0:8080", "outbox: /var/lib/crmsync/outbox", "1 sources"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("config check --show lacks %q:\n%s", want, stdout)
		}
	}
	outbox := false
	for _, m := range mounts(t, app) {
		outbox = outbox || (m.target == "/var/lib/crmsync/outbox" && !strings.HasPrefix(m.source, "."))
	}
	if !outbox {
		t.Error("crmsync: the outbox /var/lib/crmsync/outbox is not on a named volume")
	}
}

// TestDockerfile: the image listens on every interface, finds its config
// through CRMSYNC_CONFIG, checks its health with crmsync healthcheck, and
// the build keeps its caches.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, want := range []string{
		"--mount=type=cache,target=/go/pkg/mod",
		"--mount=type=cache,target=/root/.cache/go-build",
		"CRMSYNC_HTTP_LISTEN=0.0.0.0:8080",
		"CRMSYNC_CONFIG=/etc/crmsync/crmsync.yaml",
		`CMD ["/usr/local/bin/crmsync", "healthcheck"]`,
		"FROM gcr.io/distroless/static",
		"./cmd/crmsync",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

// TestDockerignoreKeepsTheBuild: no file the build compiles or embeds is
// excluded from the build context by .dockerignore.
func TestDockerignoreKeepsTheBuild(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for line := range strings.Lines(string(b)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, line)
		}
	}
	var needed []string
	err = filepath.WalkDir(repoRoot, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repoRoot, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() && (rel == ".git" || strings.HasSuffix(rel, "testdata")) {
			return filepath.SkipDir
		}
		needs := rel == "go.mod" || rel == "go.sum" ||
			(strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, "_test.go")) ||
			strings.HasPrefix(rel, "examples/sample/") || strings.HasPrefix(rel, "templates/email/") ||
			strings.HasPrefix(rel, "web/templates/") || (path.Dir(rel) == "examples" && strings.HasSuffix(rel, ".yaml"))
		if !d.IsDir() && needs {
			needed = append(needed, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(needed) < 100 {
		t.Fatalf("found %d files the build needs: the walk is wrong", len(needed))
	}
	for _, f := range needed {
		for _, p := range patterns {
			if dockerignored(p, f) {
				t.Errorf(".dockerignore %q excludes %s, which the build needs", p, f)
			}
		}
	}
}

// dockerignored reports whether pattern excludes file (slash-separated,
// relative to the context), for the patterns .dockerignore uses: a path
// or glob from the root, which excludes what is under it too, or
// "**/glob", any path ending so.
func dockerignored(pattern, file string) bool {
	parts := strings.Split(file, "/")
	if rest, ok := strings.CutPrefix(pattern, "**/"); ok {
		for i := range parts {
			if m, _ := path.Match(rest, strings.Join(parts[i:], "/")); m {
				return true
			}
			if m, _ := path.Match(rest, parts[i]); m {
				return true
			}
		}
		return false
	}
	for i := 1; i <= len(parts); i++ {
		if m, _ := path.Match(pattern, strings.Join(parts[:i], "/")); m {
			return true
		}
	}
	return false
}
