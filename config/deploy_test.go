package config

import (
	"strings"
	"testing"
)

// minimalWith is testdata/minimal.yaml followed by extra.
func minimalWith(extra string) []byte {
	return []byte("notify:\n  outbox: ./outbox\nrule_files: [rules/a.yaml]\n" + extra)
}

func TestEnvHTTPListen(t *testing.T) {
	tests := []struct {
		name, env, file string
		want, wantErr   string
	}{
		{name: "unset keeps the default", want: "127.0.0.1:8080"},
		{name: "unset keeps the file's", file: "http: {listen: 10.0.0.1:9000}\n", want: "10.0.0.1:9000"},
		{name: "set replaces the default", env: "0.0.0.0:8080", want: "0.0.0.0:8080"},
		{name: "set replaces the file's", env: ":9090", file: "http: {listen: 10.0.0.1:9000}\n", want: ":9090"},
		{name: "set but invalid", env: "localhost", file: "http:\n  listen: 10.0.0.1:9000\n",
			wantErr: `c.yaml:5:11: http.listen: invalid address "localhost" (want host:port such as 127.0.0.1:8080)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env == "" {
				unsetenv(t, EnvHTTPListen)
			} else {
				t.Setenv(EnvHTTPListen, tt.env)
			}
			c, err := Parse("c.yaml", minimalWith(tt.file), "testdata")
			switch {
			case tt.wantErr != "":
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("Parse error = %v, want %s", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("Parse: %v", err)
			case c.HTTP.Listen != tt.want:
				t.Errorf("http.listen = %q, want %q", c.HTTP.Listen, tt.want)
			}
		})
	}
}

func TestRetention(t *testing.T) {
	tests := []struct {
		file    string
		want    int
		wantErr string
	}{
		{file: "", want: DefaultReportsKept},
		{file: "retention: {reports: 30}\n", want: 30},
		{file: "retention:\n  reports: 0\n", wantErr: `c.yaml:5:12: retention.reports: must be at least 1, got 0`},
		{file: "retention:\n  report: 3\n", wantErr: `c.yaml:5:3: retention.report: unknown key (did you mean "reports"?)`},
	}
	for _, tt := range tests {
		c, err := Parse("c.yaml", minimalWith(tt.file), "testdata")
		switch {
		case tt.wantErr != "":
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%q: Parse error = %v, want %s", tt.file, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("%q: Parse: %v", tt.file, err)
		case c.Retention.Reports != tt.want:
			t.Errorf("%q: retention.reports = %d, want %d", tt.file, c.Retention.Reports, tt.want)
		}
	}
}

// TestShowDefaults: the printed config holds the defaults of keys the file
// leaves out, and no secret.
func TestShowDefaults(t *testing.T) {
	unsetenv(t, EnvHTTPListen)
	c, err := Parse("c.yaml", minimalWith("redis: {url: \"redis://:hunter2@redis:6379\"}\n"), "testdata")
	if err != nil {
		t.Fatal(err)
	}
	out := c.String()
	for _, want := range []string{"listen: 127.0.0.1:8080", "schedule: 0 7 * * 1-5", "reports: 500", "namespace: crmsync", "url: <secret>", "concurrency: 10"} {
		if !strings.Contains(out, want) {
			t.Errorf("String() lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter2") {
		t.Errorf("String() shows a secret:\n%s", out)
	}
}
