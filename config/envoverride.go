package config

// EnvHTTPListen is the environment variable that, when set, replaces
// http.listen: a container listens on 0.0.0.0 without editing the file.
const EnvHTTPListen = "CRMSYNC_HTTP_LISTEN"

// applyEnvOverrides replaces keys that the environment overrides, before
// validation, so that their values are checked like the file's.
func (c *Config) applyEnvOverrides(lookup func(string) (string, bool)) {
	if v, ok := lookup(EnvHTTPListen); ok && v != "" {
		c.HTTP.Listen = v
	}
}
