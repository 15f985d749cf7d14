package main

import (
	"fmt"
	"io"

	"github.com/crmsync/crmsync/app"
	"github.com/crmsync/crmsync/config"
)

// cmdConfigCheck validates a config file, its rule files and templates
// without touching the network.
func cmdConfigCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("config check", "config check -c FILE [--show]", stderr)
	path := configFlag(fs)
	show := fs.Bool("show", false, "print the effective config: the file's values, defaults and environment overrides, secrets redacted")
	logger := logFlags(fs, "error")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := requireConfig(fs, *path); err != nil {
		return err
	}
	if _, err := startLogger(fs, logger, stderr); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return fmt.Errorf("FAILED: %w", err)
	}
	rs, renderer, err := app.LoadRules(cfg)
	if err == nil {
		err = app.CheckChannels(cfg, rs)
	}
	if err == nil {
		err = app.CheckSources(cfg)
	}
	if err != nil {
		return fmt.Errorf("FAILED: %w", err)
	}
	fmt.Fprintf(stdout, "SUCCESS: %s: %d sources, %d rules, %d email templates\n", *path, len(cfg.Sources), len(rs.Rules), len(renderer.Names()))
	if *show {
		fmt.Fprint(stdout, effective(cfg).String())
	}
	return nil
}
