package hubspot

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/conntest"
	"github.com/crmsync/crmsync/internal/hubspotfake"
	"github.com/crmsync/crmsync/model"
)

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// mappingPortal holds one record of each kind, with every mapped field.
func mappingPortal(t *testing.T) *hubspotfake.Server {
	f := newFake(t, hubspotfake.Options{PortalID: 4242, UIDomain: "app-eu1.hubspot.com"})
	f.AddOwner(hubspotfake.Owner{ID: "77", Email: "rep@example.com", FirstName: "Rita", LastName: "Rep"})
	f.AddOwner(hubspotfake.Owner{ID: "78", Email: "gone@example.com", FirstName: "Gone", Archived: true})
	f.Put(hubspotfake.Companies, hubspotfake.Object{ID: "501", CreatedAt: day("2021-02-01T21:17:12Z"), Modified: day("2024-09-13T20:23:03Z"), Properties: map[string]string{
		"name": "Acme <Widgets>", "domain": "acme.example", "hubspot_owner_id": "77", "lifecyclestage": "Evangelist",
		"custom_stage":         "Key Account",
		"notes_last_updated":   "2024-09-01T10:00:00.000Z",
		"notes_last_contacted": "1725962400000", // epoch ms: 2024-09-10T10:00:00Z, the latest
		"industry":             "RETAIL", "hs_analytics_source": "",
		"annualrevenue": "5000000", "company_language": "Français",
	}})
	f.Put(hubspotfake.Companies, hubspotfake.Object{ID: "502", Modified: day("2024-09-13T20:23:03Z"), Properties: map[string]string{"name": "Other Co"}})
	f.Put(hubspotfake.Contacts, hubspotfake.Object{ID: "601", Modified: day("2024-09-11T13:27:39Z"), Properties: map[string]string{
		"firstname": "Zoë", "lastname": "O'Brien", "email": "zoe@acme.example", "phone": "+33 1 02 03", "jobtitle": "CEO",
		"hs_timezone": "europe_slash_paris", "hs_email_optout": "true", "is_primary": "Yes",
		"notes_last_updated": "2024-08-01T00:00:00Z", "hs_language": "en-us", "preferred_lang": "de",
	}, Companies: []hubspotfake.Association{{CompanyID: "502"}, {CompanyID: "501", Primary: true, Labels: []string{"Decision maker"}}}})
	f.Put(hubspotfake.Contacts, hubspotfake.Object{ID: "602", Modified: day("2024-09-11T13:27:39Z"), Properties: map[string]string{
		"email": "x@acme.example", "hs_timezone": "mars_slash_olympus", "hs_language": "<!channel>",
	}, Companies: []hubspotfake.Association{{CompanyID: "501", Labels: []string{"Billing"}}}})
	f.Put(hubspotfake.Deals, hubspotfake.Object{ID: "701", Modified: day("2024-06-28T17:05:10Z"), Properties: map[string]string{
		"dealname": "Annual license", "amount": "1250.50", "deal_currency_code": "EUR", "hs_is_closed_won": "true", "closedate": "2024-06-28T00:00:00Z",
	}, Companies: []hubspotfake.Association{{CompanyID: "502"}, {CompanyID: "501", Primary: true}}})
	f.Put(hubspotfake.Deals, hubspotfake.Object{ID: "702", Modified: day("2024-06-28T17:05:10Z"), Properties: map[string]string{"dealname": "Open"}})
	return f
}

func TestPullMapsEveryField(t *testing.T) {
	t.Parallel()
	f := mappingPortal(t)
	c := newConnector(t, f, func(o *Options) {
		o.Mapping = connectors.Mapping{
			Lifecycle:      connectors.LifecycleMapping{Field: "custom_stage", Map: map[string]model.Lifecycle{"key account": model.Customer}},
			PrimaryContact: connectors.PrimaryContactMapping{Property: "is_primary"},
			Extra:          []string{"industry", "hs_analytics_source"},
			Language:       connectors.LanguageMapping{Account: "company_language"},
		}
	})
	got := merge(mustPull(t, c, nil))

	wantAccount := model.Account{
		Ref: model.NewRef("hs", "501"), Name: "Acme <Widgets>", Domain: "acme.example", OwnerID: "hs:77",
		Lifecycle: model.Customer, URL: "https://app-eu1.hubspot.com/contacts/4242/record/0-2/501",
		CreatedAt: day("2021-02-01T21:17:12Z"), LastActivityAt: day("2024-09-10T10:00:00Z"), UpdatedAt: day("2024-09-13T20:23:03Z"),
		Extra: map[string]string{"industry": "RETAIL"}, Language: "fr",
	}
	if a := got.accounts["501"]; !reflect.DeepEqual(a, wantAccount) {
		t.Errorf("account\n got %+v\nwant %+v", a, wantAccount)
	}
	if lc := got.accounts["502"].Lifecycle; lc != model.Other {
		t.Errorf("unmapped lifecycle = %q, want other", lc)
	}
	wantContact := model.Contact{
		Ref: model.NewRef("hs", "601"), AccountID: "hs:501", FirstName: "Zoë", LastName: "O'Brien", Email: "zoe@acme.example",
		Phone: "+33 1 02 03", Title: "CEO", TimeZone: "Europe/Paris", Language: "en-US", OptOut: true, Primary: true,
		LastActivityAt: day("2024-08-01T00:00:00Z"), UpdatedAt: day("2024-09-11T13:27:39Z"),
	}
	if ct := got.contacts["601"]; !reflect.DeepEqual(ct, wantContact) {
		t.Errorf("contact\n got %+v\nwant %+v", ct, wantContact)
	}
	if ct := got.contacts["602"]; ct.TimeZone != "" || ct.Language != "" || ct.Primary || ct.OptOut || ct.AccountID != "hs:501" {
		t.Errorf("contact 602 = %+v; want no zone, no language, not primary, filed under its only company", ct)
	}
	wantDeal := model.Deal{
		Ref: model.NewRef("hs", "701"), AccountID: "hs:501", Name: "Annual license", Amount: 1250.5, Currency: "EUR",
		Won: true, ClosedAt: day("2024-06-28T00:00:00Z"), UpdatedAt: day("2024-06-28T17:05:10Z"),
	}
	if d := got.deals["701"]; !reflect.DeepEqual(d, wantDeal) {
		t.Errorf("deal\n got %+v\nwant %+v", d, wantDeal)
	}
	if d := got.deals["702"]; d.Amount != 0 || d.Won || d.AccountID != "" {
		t.Errorf("deal without amount or company = %+v", d)
	}
	wantOwners := map[string]model.Owner{
		"77": {Ref: model.NewRef("hs", "77"), Name: "Rita Rep", Email: "rep@example.com"},
		"78": {Ref: model.NewRef("hs", "78"), Name: "Gone", Email: "gone@example.com"},
	}
	if !reflect.DeepEqual(got.owners, wantOwners) {
		t.Errorf("owners = %+v", got.owners)
	}
}

func TestPullMarksPrimaryContactsByAssociationLabel(t *testing.T) {
	t.Parallel()
	f := mappingPortal(t)
	c := newConnector(t, f, func(o *Options) {
		o.Mapping.PrimaryContact = connectors.PrimaryContactMapping{AssociationLabel: "decision maker"}
	})
	got := merge(mustPull(t, c, nil))
	if !got.contacts["601"].Primary || got.contacts["602"].Primary {
		t.Errorf("primary: 601 %v, 602 %v; want true, false", got.contacts["601"].Primary, got.contacts["602"].Primary)
	}
	if got.contacts["601"].AccountID != "hs:501" {
		t.Errorf("contact 601 filed under %q, want its primary company", got.contacts["601"].AccountID)
	}
	for _, r := range requests(f, hubspotfake.ObjectsPath(hubspotfake.Contacts)) {
		if r.Query.Get("associations") != "" {
			t.Errorf("contacts listed with associations=%s although labels come from v4", r.Query.Get("associations"))
		}
	}
	if f.Count(hubspotfake.AssociationsPath(hubspotfake.Contacts)) == 0 {
		t.Error("labels not read from the v4 associations")
	}
}

func TestPullRequestsOnlyTheNeededProperties(t *testing.T) {
	t.Parallel()
	clk := newClock()
	f := newFake(t, hubspotfake.Options{Now: clk.Now})
	f.Seed(3, 1, 1)
	c := newConnector(t, f, func(o *Options) {
		o.Now = clk.Now
		o.Mapping = connectors.Mapping{Extra: []string{"industry"}, LastActivity: []string{"notes_last_updated"}, PrimaryContact: connectors.PrimaryContactMapping{Property: "is_primary"}}
	})
	want := map[hubspotfake.Kind][]string{
		hubspotfake.Companies: {"createdate", "domain", "hs_lastmodifieddate", "hs_merged_object_ids", "hubspot_owner_id", "industry", "lifecyclestage", "name", "notes_last_updated"},
		hubspotfake.Contacts:  {"email", "firstname", "hs_email_optout", "hs_language", "hs_merged_object_ids", "hs_timezone", "is_primary", "jobtitle", "lastmodifieddate", "lastname", "notes_last_updated", "phone"},
		hubspotfake.Deals:     {"amount", "closedate", "deal_currency_code", "dealname", "hs_is_closed_won", "hs_lastmodifieddate", "hs_merged_object_ids"},
	}
	wm := conntest.LastWatermark(mustPull(t, c, nil))
	clk.Add(time.Hour)
	f.Modify(hubspotfake.Contacts, f.IDs(hubspotfake.Contacts)[0], map[string]string{"jobtitle": "x"})
	clk.Add(time.Hour)
	mustPull(t, c, wm)
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	for kind, props := range want {
		for _, r := range requests(f, hubspotfake.ObjectsPath(kind)) {
			got := strings.Split(r.Query.Get("properties"), ",")
			if r.Query.Get("archived") == "true" {
				props = []string{objectIDProperty}
			}
			if !slices.Equal(sorted(got), props) {
				t.Errorf("%s list asked for %v, want %v", kind, sorted(got), props)
			}
		}
		for _, r := range requests(f, hubspotfake.SearchPath(kind)) {
			s := searchBody(t, r)
			if len(s.FilterGroups) == 0 { // the count of a full sync
				continue
			}
			if !slices.Equal(sorted(s.Properties), want[kind]) {
				t.Errorf("%s search asked for %v, want %v", kind, sorted(s.Properties), want[kind])
			}
		}
	}
}

func TestPullMapsLanguages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		mapping         connectors.LanguageMapping
		contact, second string // languages of contacts 601 and 602
		account         string // language of company 501
		contactProp     string // the language property the contacts list asks for
		companyProp     string // the language property the companies list asks for
	}{
		{name: "default: hs_language", contact: "en-US", contactProp: "hs_language"},
		{name: "company property", mapping: connectors.LanguageMapping{Account: "company_language"},
			contact: "en-US", account: "fr", contactProp: "hs_language", companyProp: "company_language"},
		{name: "contact property overridden", mapping: connectors.LanguageMapping{Contact: "preferred_lang"},
			contact: "de", contactProp: "preferred_lang"},
		{name: "unset property", mapping: connectors.LanguageMapping{Contact: "nope", Account: "nope"},
			contactProp: "nope", companyProp: "nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := mappingPortal(t)
			c := newConnector(t, f, func(o *Options) { o.Mapping.Language = tt.mapping })
			got := merge(mustPull(t, c, nil))
			if l := got.contacts["601"].Language; l != tt.contact {
				t.Errorf("contact 601 language = %q, want %q", l, tt.contact)
			}
			if l := got.contacts["602"].Language; l != tt.second {
				t.Errorf("contact 602 language = %q, want %q", l, tt.second)
			}
			if l := got.accounts["501"].Language; l != tt.account {
				t.Errorf("account 501 language = %q, want %q", l, tt.account)
			}
			asked := func(kind hubspotfake.Kind, prop string) {
				t.Helper()
				for _, r := range requests(f, hubspotfake.ObjectsPath(kind)) {
					if r.Query.Get("archived") == "true" {
						continue
					}
					props := strings.Split(r.Query.Get("properties"), ",")
					for _, p := range []string{"hs_language", "company_language", "preferred_lang", "nope"} {
						if slices.Contains(props, p) != (p == prop) {
							t.Errorf("%s list asked for %v; want the language property %q only", kind, props, prop)
						}
					}
				}
			}
			asked(hubspotfake.Contacts, tt.contactProp)
			asked(hubspotfake.Companies, tt.companyProp)
		})
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"", time.Time{}, false},
		{"2024-09-11T13:27:39.356Z", time.Date(2024, 9, 11, 13, 27, 39, 356e6, time.UTC), false},
		{"2024-09-11T15:27:39+02:00", time.Date(2024, 9, 11, 13, 27, 39, 0, time.UTC), false},
		{"1725962400000", time.Date(2024, 9, 10, 10, 0, 0, 0, time.UTC), false},
		{"2024-06-28", time.Date(2024, 6, 28, 0, 0, 0, 0, time.UTC), false},
		{"yesterday", time.Time{}, true},
		{"2024-13-01", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.in)
		if (err != nil) != tt.err || !got.Equal(tt.want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestIANAZone(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"europe_slash_paris":                         "Europe/Paris",
		"america_slash_new_york":                     "America/New_York",
		"america_slash_port_minus_au_minus_prince":   "America/Port-au-Prince",
		"america_slash_port_of_spain":                "America/Port_of_Spain",
		"africa_slash_dar_es_salaam":                 "Africa/Dar_es_Salaam",
		"america_slash_argentina_slash_buenos_aires": "America/Argentina/Buenos_Aires",
		"us_slash_eastern":                           "US/Eastern",
		"etc_slash_gmt_plus_5":                       "Etc/GMT+5",
		"utc":                                        "UTC",
		"Asia/Tokyo":                                 "Asia/Tokyo",
		"mars_slash_olympus":                         "",
		"local":                                      "",
		"../../etc/passwd":                           "",
	}
	for in, want := range tests {
		if got := ianaZone(in); got != want {
			t.Errorf("ianaZone(%q) = %q, want %q", in, got, want)
		}
	}
}
