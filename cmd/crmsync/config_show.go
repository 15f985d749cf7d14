package main

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"

	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/connectors/dynamics"
	"github.com/crmsync/crmsync/connectors/hubspot"
	"github.com/crmsync/crmsync/connectors/monday"
	"github.com/crmsync/crmsync/connectors/salesforce"
	"github.com/crmsync/crmsync/connectors/sellsy"
	"github.com/crmsync/crmsync/notify/sendgrid"
	"github.com/crmsync/crmsync/notify/slack"
)

// effective returns a copy of cfg with the defaults that the connectors
// and senders give keys left empty written in, for `config check --show`:
// what runs, not only what the file says. Keys whose emptiness means
// something else (a csv delimiter detected from the file) stay empty.
func effective(cfg *config.Config) *config.Config {
	c := *cfg
	c.Sources = slices.Clone(cfg.Sources)
	for i := range c.Sources {
		fillSourceDefaults(&c.Sources[i])
	}
	c.Notify.Email.BaseURL = cmp.Or(c.Notify.Email.BaseURL, sendgrid.DefaultBaseURL)
	c.Notify.Slack.BaseURL = cmp.Or(c.Notify.Slack.BaseURL, slack.DefaultBaseURL)
	return &c
}

// fillSourceDefaults writes in the defaults of s's connector.
func fillSourceDefaults(s *config.Source) {
	l := &s.Limits
	switch s.Type {
	case "csv":
		s.Encoding = cmp.Or(s.Encoding, "utf-8")
		s.Decimal = cmp.Or(s.Decimal, ".")
	case "hubspot":
		s.BaseURL = cmp.Or(s.BaseURL, hubspot.DefaultBaseURL)
		l.Burst = cmp.Or(l.Burst, hubspot.DefaultBurst)
		l.SearchPerSecond = cmp.Or(l.SearchPerSecond, hubspot.DefaultSearchPerSecond)
		l.DailyReserve = cmp.Or(l.DailyReserve, strconv.Itoa(hubspot.DefaultDailyReserve))
	case "salesforce":
		s.LoginURL = cmp.Or(s.LoginURL, salesforce.DefaultLoginURL)
		s.APIVersion = cmp.Or(s.APIVersion, salesforce.DefaultAPIVersion)
		l.DailyReserve = cmp.Or(l.DailyReserve, fmt.Sprintf("%g%%", salesforce.DefaultDailyReserve*100))
	case "dynamics":
		s.APIVersion = cmp.Or(s.APIVersion, dynamics.DefaultAPIVersion)
		l.RequestsPer5Min = cmp.Or(l.RequestsPer5Min, dynamics.DefaultRequestsPer5Min)
	case "sellsy":
		s.BaseURL = cmp.Or(s.BaseURL, sellsy.DefaultBaseURL)
		l.FullEvery = cmp.Or(l.FullEvery, sellsy.DefaultFullEvery)
		l.WonRescan = cmp.Or(l.WonRescan, sellsy.DefaultWonRescan)
		if s.Auth != nil {
			a := *s.Auth
			a.TokenURL = cmp.Or(a.TokenURL, sellsy.DefaultTokenURL)
			s.Auth = &a
		}
	case "monday":
		s.BaseURL = cmp.Or(s.BaseURL, monday.DefaultBaseURL)
		s.APIVersion = cmp.Or(s.APIVersion, monday.DefaultAPIVersion)
		l.FullEvery = cmp.Or(l.FullEvery, monday.DefaultFullEvery)
	}
}
