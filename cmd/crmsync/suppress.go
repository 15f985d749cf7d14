package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"

	"github.com/crmsync/crmsync/app"
	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/store"
)

// cmdSuppress manages the local suppression list: addresses that never
// get an email, whatever the CRM says.
func cmdSuppress(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "remove" && args[0] != "check") {
		fmt.Fprint(stderr, "usage: crmsync suppress add|remove|check -c FILE [--reason TEXT] EMAIL...\n")
		return errUsage
	}
	verb := args[0]
	fs := newFlags("suppress "+verb, "suppress "+verb+" -c FILE [--reason TEXT] EMAIL...", stderr)
	path := configFlag(fs)
	reason := fs.String("reason", "added by hand", "why the address is suppressed (add)")
	logger := logFlags(fs, "error")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if err := requireConfig(fs, *path); err != nil {
		return err
	}
	if _, err := startLogger(fs, logger, stderr); err != nil {
		return err
	}
	emails, err := addresses(fs.Args())
	if err != nil {
		fmt.Fprintf(stderr, "crmsync suppress %s: %v\n", verb, err)
		return errUsage
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	st, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if st.Embedded() {
		fmt.Fprintln(stderr, "crmsync suppress: no redis.url configured: the in-memory list is lost on exit")
	}
	for _, e := range emails {
		if err := suppressOne(ctx, st, verb, e, *reason, stdout); err != nil {
			return err
		}
	}
	return nil
}

// addresses checks that every argument is a plain email address.
func addresses(args []string) ([]string, error) {
	if len(args) == 0 {
		return nil, errors.New("name at least one email address")
	}
	for _, a := range args {
		if p, err := mail.ParseAddress(a); err != nil || p.Address != a {
			return nil, fmt.Errorf("%q is not an email address", a)
		}
	}
	return args, nil
}

func suppressOne(ctx context.Context, st *store.Store, verb, email, reason string, w io.Writer) error {
	email = strings.ToLower(email)
	switch verb {
	case "add":
		if err := st.Suppressions.Suppress(ctx, email, reason, time.Now()); err != nil {
			return err
		}
		fmt.Fprintf(w, "suppressed %s (%s)\n", email, reason)
	case "remove":
		if err := st.Suppressions.Unsuppress(ctx, email); err != nil {
			return err
		}
		fmt.Fprintf(w, "no longer suppressed %s\n", email)
	case "check":
		why, ok, err := st.Suppressions.Suppressed(ctx, email)
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintf(w, "%s: not suppressed\n", email)
			return nil
		}
		fmt.Fprintf(w, "%s: suppressed (%s)\n", email, why)
	}
	return nil
}
