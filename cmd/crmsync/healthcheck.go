package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/crmsync/crmsync/config"
)

// defaultListen is http.listen's default, for a health check without a
// config.
const defaultListen = "127.0.0.1:8080"

// cmdHealthcheck GETs /healthz of a running crmsync and exits 0 on 200, 1
// otherwise: the HEALTHCHECK of an image without curl.
func cmdHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("healthcheck", "healthcheck [--url URL | -c FILE] [--timeout 5s]", stderr)
	target := fs.String("url", "", "URL to GET (default: /healthz on http.listen of -c FILE, else on $"+config.EnvHTTPListen+", else on "+defaultListen+")")
	path := configFlag(fs)
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	logger := logFlags(fs, "error")
	if err := parse(fs, args); err != nil {
		return err
	}
	if _, err := startLogger(fs, logger, stderr); err != nil {
		return err
	}
	url := *target
	if url == "" {
		listen, err := healthListen(*path)
		if err != nil {
			return fmt.Errorf("healthcheck: %w", err)
		}
		url = "http://" + dialable(listen) + "/healthz"
	}
	return getHealth(ctx, url, *timeout, stdout)
}

// healthListen is the address crmsync listens on: http.listen of the
// config at path (which $CRMSYNC_HTTP_LISTEN overrides), else
// $CRMSYNC_HTTP_LISTEN, else the default.
func healthListen(path string) (string, error) {
	if path != "" {
		cfg, err := config.Load(path)
		if err != nil {
			return "", err
		}
		return cfg.HTTP.Listen, nil
	}
	if v := os.Getenv(config.EnvHTTPListen); v != "" {
		return v, nil
	}
	return defaultListen, nil
}

// dialable turns a listen address into one to connect to: a wildcard or
// empty host becomes loopback.
func dialable(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::", "[::]":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}

// getHealth GETs url and fails unless it answers 200.
func getHealth(ctx context.Context, url string, timeout time.Duration, stdout io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s: %s", url, resp.Status, body)
	}
	fmt.Fprintf(stdout, "ok: %s\n", url)
	return nil
}
