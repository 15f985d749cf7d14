package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
)

// redacted is what a non-empty Secret shows everywhere but Reveal.
const redacted = "<secret>"

// Secret is a credential read from the config file, the environment or a
// *_file. It prints, logs and marshals as "<secret>"; only Reveal gives the
// value, so call Reveal at the last moment, where the value is sent.
type Secret string

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// String returns "<secret>", or "" when the secret is empty.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// Format makes every fmt verb (%v, %s, %q, %x, %#v, …) print String.
func (s Secret) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, s.String())
}

// MarshalYAML marshals the secret as "<secret>".
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalJSON marshals the secret as "<secret>".
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// LogValue makes log/slog print "<secret>".
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// readSecrets checks every secret/secret_file pair and reads the files.
func (c *Config) readSecrets(d *document) {
	for _, s := range c.secrets() {
		switch {
		case *s.value != "" && *s.file != "":
			d.addf(s.parent, "at most one of %s and %s_file", s.key, s.key)
		case *s.file != "":
			v, err := readSecretFile(*s.file)
			if err != nil {
				d.addf(childPath(s.parent, s.key+"_file"), "%v", err)
				continue
			}
			*s.value = Secret(v)
		}
	}
}

// secretField is one Secret and its *_file sibling.
type secretField struct {
	parent, key string
	value       *Secret
	file        *string
}

func (c *Config) secrets() []secretField {
	s := []secretField{
		{"redis", "url", &c.Redis.URL, &c.Redis.URLFile},
		{"http", "admin_token", &c.HTTP.AdminToken, &c.HTTP.AdminTokenFile},
		{"notify.email", "api_key", &c.Notify.Email.APIKey, &c.Notify.Email.APIKeyFile},
		{"notify.slack", "token", &c.Notify.Slack.Token, &c.Notify.Slack.TokenFile},
		{"notify.slack", "signing_secret", &c.Notify.Slack.SigningSecret, &c.Notify.Slack.SigningSecretFile},
		{"web", "session_key", &c.Web.SessionKey, &c.Web.SessionKeyFile},
	}
	if sl := c.Web.SignIn.Slack; sl != nil {
		s = append(s, secretField{"web.signin.slack", "client_secret", &sl.ClientSecret, &sl.ClientSecretFile})
	}
	for i := range c.Sources {
		if a := c.Sources[i].Auth; a != nil {
			p := indexPath("sources", i) + ".auth"
			s = append(s, secretField{p, "token", &a.Token, &a.TokenFile},
				secretField{p, "client_secret", &a.ClientSecret, &a.ClientSecretFile},
				secretField{p, "refresh_token", &a.RefreshToken, &a.RefreshTokenFile},
				secretField{p, "private_key", &a.PrivateKey, &a.PrivateKeyFile},
				secretField{p, "certificate", &a.Certificate, &a.CertificateFile})
		}
	}
	return s
}

// readSecretFile returns a file's content without its trailing newline.
// Errors name the file, never its content.
func readSecretFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("cannot read %q: %w", path, err)
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if v == "" {
		return "", fmt.Errorf("file %q is empty", path)
	}
	return v, nil
}
