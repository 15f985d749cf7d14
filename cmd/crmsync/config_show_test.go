package main

import (
	"reflect"
	"testing"

	"github.com/crmsync/crmsync/config"
	"github.com/crmsync/crmsync/connectors/dynamics"
	"github.com/crmsync/crmsync/connectors/hubspot"
	"github.com/crmsync/crmsync/connectors/monday"
	"github.com/crmsync/crmsync/connectors/salesforce"
	"github.com/crmsync/crmsync/connectors/sellsy"
)

// TestEffectiveFillsConnectorDefaults: --show writes in each connector's
// defaults for the keys left empty, keeps what the file set, and leaves
// the loaded config alone.
func TestEffectiveFillsConnectorDefaults(t *testing.T) {
	tests := []struct {
		in, want config.Source
	}{
		{config.Source{Type: "csv"}, config.Source{Type: "csv", Encoding: "utf-8", Decimal: "."}},
		{config.Source{Type: "csv", Delimiter: ";", Decimal: ","}, config.Source{Type: "csv", Delimiter: ";", Encoding: "utf-8", Decimal: ","}},
		{config.Source{Type: "hubspot", Limits: config.SourceLimits{Burst: 190}}, config.Source{Type: "hubspot", BaseURL: hubspot.DefaultBaseURL,
			Limits: config.SourceLimits{Burst: 190, SearchPerSecond: hubspot.DefaultSearchPerSecond, DailyReserve: "1000"}}},
		{config.Source{Type: "hubspot"}, config.Source{Type: "hubspot", BaseURL: hubspot.DefaultBaseURL,
			Limits: config.SourceLimits{Burst: hubspot.DefaultBurst, SearchPerSecond: hubspot.DefaultSearchPerSecond, DailyReserve: "1000"}}},
		{config.Source{Type: "salesforce"}, config.Source{Type: "salesforce", LoginURL: salesforce.DefaultLoginURL,
			APIVersion: salesforce.DefaultAPIVersion, Limits: config.SourceLimits{DailyReserve: "10%"}}},
		{config.Source{Type: "dynamics"}, config.Source{Type: "dynamics", APIVersion: dynamics.DefaultAPIVersion,
			Limits: config.SourceLimits{RequestsPer5Min: dynamics.DefaultRequestsPer5Min}}},
		{config.Source{Type: "sellsy", Auth: &config.SourceAuth{ClientID: "c"}}, config.Source{Type: "sellsy", BaseURL: sellsy.DefaultBaseURL,
			Auth:   &config.SourceAuth{ClientID: "c", TokenURL: sellsy.DefaultTokenURL},
			Limits: config.SourceLimits{FullEvery: sellsy.DefaultFullEvery, WonRescan: sellsy.DefaultWonRescan}}},
		{config.Source{Type: "monday"}, config.Source{Type: "monday", BaseURL: monday.DefaultBaseURL, APIVersion: monday.DefaultAPIVersion,
			Limits: config.SourceLimits{FullEvery: monday.DefaultFullEvery}}},
	}
	for _, tt := range tests {
		in := tt.in
		if in.Auth != nil {
			a := *in.Auth
			in.Auth = &a
		}
		cfg := &config.Config{Sources: []config.Source{in}}
		got := effective(cfg).Sources[0]
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: effective =\n%+v\nwant\n%+v", tt.in.Type, got, tt.want)
		}
		if !reflect.DeepEqual(cfg.Sources[0], in) || (in.Auth != nil && in.Auth.TokenURL != "") {
			t.Errorf("%s: effective changed the loaded config: %+v", tt.in.Type, cfg.Sources[0])
		}
	}
}
