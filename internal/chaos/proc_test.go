package chaos

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crmsync/crmsync/internal/waitfor"
)

// proc is a crmsync subprocess. Its stdout and stderr go to NAME.out and
// NAME.err in its folder; their tails are logged when the test fails.
type proc struct {
	name     string
	cmd      *exec.Cmd
	out, err string
	done     chan struct{} // closed when the process has exited
	started  time.Time
	exited   time.Time // set before done is closed
}

// startProc starts the binary with args in dir. The process is killed, if
// it still runs, when the test ends.
func startProc(t *testing.T, dir, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, out: filepath.Join(dir, name+".out"), err: filepath.Join(dir, name+".err"), done: make(chan struct{})}
	stdout, err := os.Create(p.out)
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(p.err)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = stdout, stderr
	p.cmd.Env = append(os.Environ(), "NO_COLOR=1")
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	p.started = time.Now()
	go func() {
		p.cmd.Wait()
		stdout.Close()
		stderr.Close()
		p.exited = time.Now()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			p.logTail(t, 25)
		}
	})
	return p
}

// running reports whether the process has not exited.
func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits for the process to exit.
func (p *proc) kill() {
	if p.running() {
		p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// stop sends SIGTERM and waits for a graceful exit (crmsync gives running
// tasks 20 s), killing the process after 40 s.
func (p *proc) stop() {
	if p.running() {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-p.done:
	case <-time.After(40 * time.Second):
		p.kill()
	}
}

// exitCode is the exit status of an exited process.
func (p *proc) exitCode() int {
	<-p.done
	return p.cmd.ProcessState.ExitCode()
}

// logTail logs the last n lines of the process's stdout and stderr.
func (p *proc) logTail(t *testing.T, n int) {
	t.Helper()
	for _, f := range []string{p.out, p.err} {
		b, _ := os.ReadFile(f)
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		t.Logf("--- tail of %s:\n%s", filepath.Base(f), strings.Join(lines, "\n"))
	}
}

// stdout returns what the process wrote on stdout so far.
func (p *proc) stdout() string {
	b, _ := os.ReadFile(p.out)
	return string(b)
}

// stderr returns what the process wrote on stderr so far.
func (p *proc) stderr() string {
	b, _ := os.ReadFile(p.err)
	return string(b)
}

// logLine is one record of crmsync's JSON log.
type logLine struct {
	Time  time.Time      `json:"time"`
	Level string         `json:"level"`
	Msg   string         `json:"msg"`
	Attrs map[string]any `json:"-"`
}

// logs returns the JSON log records of the process whose message is msg.
func (p *proc) logs(msg string) []logLine {
	var out []logLine
	for _, f := range []string{p.err, p.out} {
		b, _ := os.ReadFile(f)
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			if !bytes.Contains(line, []byte(`"msg":"`+msg+`"`)) {
				continue
			}
			var l logLine
			if json.Unmarshal(line, &l) == nil {
				json.Unmarshal(line, &l.Attrs)
				out = append(out, l)
			}
		}
	}
	return out
}

// oneShot runs a one-shot command (sync, history) to its end, or kills it
// after timeout, and returns its exit status and outputs.
func oneShot(t *testing.T, dir, name string, timeout time.Duration, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := startProc(t, dir, name, args...)
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.kill()
		t.Errorf("%s: still running after %s; killed", name, timeout)
	}
	return p.exitCode(), p.stdout(), p.stderr()
}

// errTimeout is wrapped by waitUntil's error.
var errTimeout = errors.New("timed out")

// checkEvery is how often waitUntil evaluates a condition: they read
// Redis, logs and fakes, and no figure depends on when a poll saw
// something (hooks and logs date the events).
const checkEvery = 200 * time.Millisecond

// waitUntil waits for cond with waitfor.Within, the project's polling
// helper, evaluating it every checkEvery, and returns how long that took.
// After timeout it returns an error naming what was awaited and quoting
// the state cond described last; the scenarios go on to report their
// figures.
func waitUntil(timeout time.Duration, what string, cond func() (bool, string)) (time.Duration, error) {
	start := time.Now()
	var (
		last  time.Time
		done  bool
		state string
	)
	state, ok := waitfor.Within(timeout, func() (bool, string) {
		if time.Since(last) >= checkEvery {
			last = time.Now()
			done, state = cond()
		}
		return done, state
	})
	if !ok {
		return time.Since(start), fmt.Errorf("%w after %s waiting for %s; last seen: %s", errTimeout, timeout, what, state)
	}
	return time.Since(start), nil
}
