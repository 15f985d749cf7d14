package config

// RetentionConfig bounds what Redis keeps of past evaluation passes.
type RetentionConfig struct {
	// Reports is how many pass reports are kept, newest first; saving a
	// report drops older ones and their passes' other keys. Default
	// DefaultReportsKept.
	Reports int `yaml:"reports"`
}

// DefaultReportsKept is retention.reports when absent (store's
// DefaultReportsKept): about two years at one pass a working day.
const DefaultReportsKept = 500

func (c *Config) validateRetention(d *document) {
	if c.Retention.Reports < 1 {
		d.addf("retention.reports", "must be at least 1, got %d", c.Retention.Reports)
	}
}
