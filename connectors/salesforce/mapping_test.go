package salesforce

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/internal/salesforcefake"
	"github.com/crmsync/crmsync/model"
)

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestPullMapsDefaultFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	owner := e.fake.Put("User", map[string]any{"Name": "Ava Patel", "Email": "ava.patel@example.com"})
	acct := e.fake.Put("Account", map[string]any{
		"Name": "Acme <Widgets>", "Website": "https://www.Acme-Widgets.com/about", "Type": "Customer - Channel",
		"OwnerId": owner, "LastActivityDate": "2026-09-10", "CreatedDate": "2021-02-01T21:17:12.000+0000",
		"SystemModstamp": "2026-11-20T20:23:03.000+0000", "Industry": "Manufacturing",
	})
	partner := e.fake.Put("Account", map[string]any{"Name": "Partner", "Type": "Technology Partner", "Website": "partner.example"})
	bare := e.fake.Put("Account", map[string]any{"Name": "Bare", "Type": nil})
	contact := e.fake.Put("Contact", map[string]any{
		"AccountId": acct, "FirstName": "Maria", "LastName": "Johnson", "Email": "maria@acme-widgets.com",
		"Phone": "+1 555", "Title": "CFO", "HasOptedOutOfEmail": true, "LastActivityDate": "2026-09-01",
		"SystemModstamp": "2026-11-20T20:23:03.000+0000",
	})
	won := e.fake.Put("Opportunity", map[string]any{"AccountId": acct, "Name": "Annual", "Amount": 100000.5,
		"CloseDate": "2026-06-28", "IsClosed": true, "IsWon": true, "SystemModstamp": "2026-11-20T20:23:03.000+0000"})
	open := e.fake.Put("Opportunity", map[string]any{"AccountId": acct, "Name": "Pilot", "Amount": nil,
		"CloseDate": "2026-12-31", "IsClosed": false, "IsWon": false})
	p := newPortfolio()
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	modstamp := date("2026-11-20T20:23:03Z")
	wantAcct := model.Account{Ref: model.NewRef("sf", acct), Name: "Acme <Widgets>", Domain: "acme-widgets.com",
		OwnerID: "sf:" + owner, Lifecycle: model.Customer, URL: e.fake.URL() + "/" + acct,
		CreatedAt: date("2021-02-01T21:17:12Z"), LastActivityAt: date("2026-09-10T00:00:00Z"), UpdatedAt: modstamp}
	check(t, "account", p.accounts["sf:"+acct], wantAcct)
	if a := p.accounts["sf:"+partner]; a.Lifecycle != model.Other || a.Domain != "partner.example" {
		t.Errorf("partner = %+v", a)
	}
	if a := p.accounts["sf:"+bare]; a.Lifecycle != model.Other || a.Domain != "" || a.OwnerID != "" {
		t.Errorf("bare = %+v", a)
	}
	check(t, "contact", p.contacts["sf:"+contact], model.Contact{Ref: model.NewRef("sf", contact), AccountID: "sf:" + acct,
		FirstName: "Maria", LastName: "Johnson", Email: "maria@acme-widgets.com", Phone: "+1 555", Title: "CFO",
		OptOut: true, LastActivityAt: date("2026-09-01T00:00:00Z"), UpdatedAt: modstamp})
	check(t, "won deal", p.deals["sf:"+won], model.Deal{Ref: model.NewRef("sf", won), AccountID: "sf:" + acct,
		Name: "Annual", Amount: 100000.5, Won: true, ClosedAt: date("2026-06-28T00:00:00Z"), UpdatedAt: modstamp})
	if d := p.deals["sf:"+open]; d.Amount != 0 || d.Won || !d.ClosedAt.IsZero() {
		t.Errorf("open deal = %+v, want no amount and no close", d)
	}
	check(t, "owner", p.owners["sf:"+owner], model.Owner{Ref: model.NewRef("sf", owner), Name: "Ava Patel", Email: "ava.patel@example.com"})
}

func check[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func TestPullMapsConfiguredFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	for _, f := range []string{"Status__c", "Last_Touch__c", "Primary_Contact__c", "Tier__c", "Seats__c", "Strategic__c"} {
		e.fake.AddField("Account", f)
	}
	e.fake.AddField("Contact", "Is_Primary__c")
	e.opts.Mapping = connectors.Mapping{
		Lifecycle:      connectors.LifecycleMapping{Field: "Status__c", Map: map[string]model.Lifecycle{"Active": model.Customer, "Churned": model.Former}},
		LastActivity:   []string{"LastActivityDate", "Last_Touch__c"},
		PrimaryContact: connectors.PrimaryContactMapping{Field: "Primary_Contact__c", Property: "Is_Primary__c"},
		Extra:          []string{"Tier__c", "Seats__c", "Strategic__c", "Industry", "Status__c"},
	}
	contact := e.fake.Put("Contact", map[string]any{"LastName": "Ng", "Is_Primary__c": true})
	tests := []struct {
		name   string
		fields map[string]any
		want   func(a model.Account) bool
	}{
		{"datetime activity is later", map[string]any{"Status__c": "active", "LastActivityDate": "2026-09-10",
			"Last_Touch__c": "2026-09-12T08:30:00.000+0000", "Primary_Contact__c": contact},
			func(a model.Account) bool {
				return a.Lifecycle == model.Customer && a.LastActivityAt.Equal(date("2026-09-12T08:30:00Z")) &&
					a.PrimaryContactID == "sf:"+contact
			}},
		{"date activity is later", map[string]any{"Status__c": "Churned", "LastActivityDate": "2026-09-13",
			"Last_Touch__c": "2026-09-12T08:30:00.000+0000"},
			func(a model.Account) bool {
				return a.Lifecycle == model.Former && a.LastActivityAt.Equal(date("2026-09-13T00:00:00Z")) && a.PrimaryContactID == ""
			}},
		{"a lifecycle named as such", map[string]any{"Status__c": "Prospect"},
			func(a model.Account) bool { return a.Lifecycle == model.Prospect && a.LastActivityAt.IsZero() }},
		{"extra fields as text", map[string]any{"Status__c": "Whatever", "Tier__c": "Gold", "Seats__c": 1500.0,
			"Strategic__c": false, "Industry": nil},
			func(a model.Account) bool {
				return a.Lifecycle == model.Other && reflect.DeepEqual(a.Extra,
					map[string]string{"Tier__c": "Gold", "Seats__c": "1500", "Strategic__c": "false", "Status__c": "Whatever"})
			}},
	}
	idOf := map[string]string{}
	for _, tt := range tests {
		idOf[tt.name] = e.fake.Put("Account", tt.fields)
	}
	p := newPortfolio()
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	for _, tt := range tests {
		if a := p.accounts["sf:"+idOf[tt.name]]; !tt.want(a) {
			t.Errorf("%s: account = %+v", tt.name, a)
		}
	}
	if !p.contacts["sf:"+contact].Primary {
		t.Errorf("contact not marked primary")
	}
}

// The activity queries of a full sync, from 5 minutes before its start.
const (
	taskQuery = "SELECT Id, AccountId, WhoId, SystemModstamp FROM Task WHERE SystemModstamp > 2026-11-22T08:55:00Z OR " +
		"(SystemModstamp = 2026-11-22T08:55:00Z AND Id > '000000000000000AAA') ORDER BY SystemModstamp ASC, Id ASC"
	eventQuery = "SELECT Id, AccountId, WhoId, SystemModstamp FROM Event WHERE SystemModstamp > 2026-11-22T08:55:00Z OR " +
		"(SystemModstamp = 2026-11-22T08:55:00Z AND Id > '000000000000000AAA') ORDER BY SystemModstamp ASC, Id ASC"
)

func TestPullRequestsOnlyTheFieldsItMaps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mapping connectors.Mapping
		custom  map[string][]string
		want    []string
	}{
		{"defaults", connectors.Mapping{}, nil, []string{
			"SELECT Id, Name, Email, SystemModstamp FROM User ORDER BY SystemModstamp ASC, Id ASC",
			"SELECT Id, Name, Website, OwnerId, CreatedDate, SystemModstamp, Type, LastActivityDate FROM Account ORDER BY SystemModstamp ASC, Id ASC",
			"SELECT Id, AccountId, FirstName, LastName, Email, Phone, Title, HasOptedOutOfEmail, LastActivityDate, SystemModstamp FROM Contact ORDER BY SystemModstamp ASC, Id ASC",
			"SELECT Id, AccountId, Name, Amount, CloseDate, IsWon, IsClosed, SystemModstamp FROM Opportunity ORDER BY SystemModstamp ASC, Id ASC",
			taskQuery, eventQuery,
		}},
		{"configured", connectors.Mapping{
			Lifecycle:      connectors.LifecycleMapping{Field: "Tier__c"},
			LastActivity:   []string{"LastActivityDate", "Last_Touch__c"},
			PrimaryContact: connectors.PrimaryContactMapping{Field: "Primary_Contact__c", Property: "Is_Primary__c"},
			Extra:          []string{"Industry", "tier__c", "Name"},
		}, map[string][]string{"Account": {"Tier__c", "Last_Touch__c", "Primary_Contact__c"}, "Contact": {"Is_Primary__c"}}, []string{
			"SELECT Id, Name, Email, SystemModstamp FROM User ORDER BY SystemModstamp ASC, Id ASC",
			"SELECT Id, Name, Website, OwnerId, CreatedDate, SystemModstamp, Tier__c, LastActivityDate, Last_Touch__c, Primary_Contact__c, Industry FROM Account ORDER BY SystemModstamp ASC, Id ASC",
			"SELECT Id, AccountId, FirstName, LastName, Email, Phone, Title, HasOptedOutOfEmail, LastActivityDate, SystemModstamp, Is_Primary__c FROM Contact ORDER BY SystemModstamp ASC, Id ASC",
			"SELECT Id, AccountId, Name, Amount, CloseDate, IsWon, IsClosed, SystemModstamp FROM Opportunity ORDER BY SystemModstamp ASC, Id ASC",
			taskQuery, eventQuery,
		}},
		{"language", connectors.Mapping{
			Language: connectors.LanguageMapping{Contact: "Language__c", Account: "Preferred_Language__c"},
		}, map[string][]string{"Account": {"Preferred_Language__c"}, "Contact": {"Language__c"}}, []string{
			"SELECT Id, Name, Email, SystemModstamp FROM User ORDER BY SystemModstamp ASC, Id ASC",
			"SELECT Id, Name, Website, OwnerId, CreatedDate, SystemModstamp, Type, LastActivityDate, Preferred_Language__c FROM Account ORDER BY SystemModstamp ASC, Id ASC",
			"SELECT Id, AccountId, FirstName, LastName, Email, Phone, Title, HasOptedOutOfEmail, LastActivityDate, SystemModstamp, Language__c FROM Contact ORDER BY SystemModstamp ASC, Id ASC",
			"SELECT Id, AccountId, Name, Amount, CloseDate, IsWon, IsClosed, SystemModstamp FROM Opportunity ORDER BY SystemModstamp ASC, Id ASC",
			taskQuery, eventQuery,
		}},
		{"contact language only", connectors.Mapping{
			Language: connectors.LanguageMapping{Contact: "Languages__c"},
		}, map[string][]string{"Contact": {"Languages__c"}}, []string{
			"SELECT Id, Name, Email, SystemModstamp FROM User ORDER BY SystemModstamp ASC, Id ASC",
			"SELECT Id, Name, Website, OwnerId, CreatedDate, SystemModstamp, Type, LastActivityDate FROM Account ORDER BY SystemModstamp ASC, Id ASC",
			"SELECT Id, AccountId, FirstName, LastName, Email, Phone, Title, HasOptedOutOfEmail, LastActivityDate, SystemModstamp, Languages__c FROM Contact ORDER BY SystemModstamp ASC, Id ASC",
			"SELECT Id, AccountId, Name, Amount, CloseDate, IsWon, IsClosed, SystemModstamp FROM Opportunity ORDER BY SystemModstamp ASC, Id ASC",
			taskQuery, eventQuery,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, salesforcefake.Options{})
			for obj, fields := range tt.custom {
				for _, f := range fields {
					e.fake.AddField(obj, f)
				}
			}
			e.opts.Mapping = tt.mapping
			if err := newPortfolio().pull(t.Context(), e.connector(t)); err != nil {
				t.Fatalf("Pull: %v", err)
			}
			if got := e.fake.Queries(); !equal(got, tt.want) {
				t.Errorf("queries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if h := e.fake.Requests()[1].Header.Get("Sforce-Query-Options"); h != "batchSize=200" {
				t.Errorf("Sforce-Query-Options = %q", h)
			}
		})
	}
}

func TestPullMapsLanguages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	e.fake.AddField("Account", "Language__c")
	e.fake.AddField("Contact", "Language__c")
	e.opts.Mapping.Language = connectors.LanguageMapping{Contact: "Language__c", Account: "Language__c"}
	tests := []struct {
		value any
		want  string
	}{
		{"fr", "fr"},
		{"fr_FR", "fr-FR"},
		{"en-gb", "en-GB"},
		{"French", "fr"},
		{"Français", "fr"},
		{"French;English", "fr"}, // a multi-select picklist: the first
		{"Frnech", ""},
		{"<!channel>", ""},
		{"", ""},
		{nil, ""},
		{true, ""}, // a checkbox mapped by mistake: no language, the record kept
	}
	accounts, contacts := make([]string, len(tests)), make([]string, len(tests))
	for i, tt := range tests {
		accounts[i] = e.fake.Put("Account", map[string]any{"Name": "A", "Language__c": tt.value})
		contacts[i] = e.fake.Put("Contact", map[string]any{"LastName": "C", "AccountId": accounts[i], "Language__c": tt.value})
	}
	p := newPortfolio()
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if len(p.rejects) != 0 {
		t.Errorf("rejects: %+v", p.rejects)
	}
	for i, tt := range tests {
		if a, ok := p.accounts["sf:"+accounts[i]]; !ok || a.Language != tt.want {
			t.Errorf("account Language__c %#v: language %q (stored %v), want %q", tt.value, a.Language, ok, tt.want)
		}
		if c, ok := p.contacts["sf:"+contacts[i]]; !ok || c.Language != tt.want {
			t.Errorf("contact Language__c %#v: language %q (stored %v), want %q", tt.value, c.Language, ok, tt.want)
		}
	}
}

func TestNewRefusesALanguageFieldThatIsNotAName(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{})
	e.opts.Mapping.Language = connectors.LanguageMapping{Account: "Name FROM User --"}
	if _, err := New(e.opts); err == nil || !strings.Contains(err.Error(), "is not a Salesforce field API name") {
		t.Errorf("New = %v, want the field name refused", err)
	}
}

func TestPullSetsAsideMalformedRecords(t *testing.T) {
	t.Parallel()
	e := newEnv(t, salesforcefake.Options{MaxBatch: 50})
	e.fake.Seed(5, 1, 1)
	bad := []struct {
		sobject string
		fields  map[string]any
		reason  string
	}{
		{"Account", map[string]any{"Name": 42}, "field Name: want a string, got a number"},
		{"Account", map[string]any{"Name": "x", "Website": true}, "field Website: want a string, got a boolean"},
		{"Account", map[string]any{"Name": "x", "CreatedDate": "yesterday"}, `field CreatedDate: unparseable datetime "yesterday"`},
		{"Account", map[string]any{"Name": "x", "OwnerId": "005'; DROP"}, `field OwnerId: "005'; DROP" is not a Salesforce id`},
		{"Account", map[string]any{"Name": "x", "LastActivityDate": "2026-13-45"}, `field LastActivityDate: unparseable date "2026-13-45"`},
		{"Account", map[string]any{"Id": nil, "Name": "no id"}, "field Id: missing"},
		{"Account", map[string]any{"Name": "x", "Type": map[string]any{"a": 1}, "SystemModstamp": 17}, "field SystemModstamp: want a string, got a number"},
		{"Contact", map[string]any{"HasOptedOutOfEmail": "yes"}, "field HasOptedOutOfEmail: want a boolean, got a string"},
		{"Contact", map[string]any{"LastName": []any{"a"}}, "field LastName: want a string, got an array"},
		{"Opportunity", map[string]any{"Amount": "12x"}, "field Amount: want a number, got a string"},
		{"Opportunity", map[string]any{"CloseDate": "28/06/2026"}, `field CloseDate: unparseable date "28/06/2026"`},
		{"User", map[string]any{"Email": 1.5}, "field Email: want a string, got a number"},
	}
	for _, b := range bad {
		e.fake.Put(b.sobject, b.fields)
	}
	p := newPortfolio()
	if err := p.pull(t.Context(), e.connector(t)); err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if len(p.rejects) != len(bad) {
		t.Fatalf("rejects = %d, want %d: %+v", len(p.rejects), len(bad), p.rejects)
	}
	reasons := map[string]model.Reject{}
	for _, r := range p.rejects {
		reasons[r.Reason] = r
	}
	for _, b := range bad {
		r, ok := reasons[b.reason]
		if !ok {
			t.Errorf("no reject %q", b.reason)
			continue
		}
		if r.Source != "sf" || r.At.IsZero() || !json.Valid([]byte(r.Raw)) || r.Where == "" {
			t.Errorf("reject %+v", r)
		}
	}
	if len(p.accounts) != 5 || len(p.contacts) != 5 || len(p.deals) != 5 || len(p.owners) != 1 {
		t.Errorf("kept %d accounts, %d contacts, %d deals, %d owners; want the 5, 5, 5 and 1 seeded",
			len(p.accounts), len(p.contacts), len(p.deals), len(p.owners))
	}
	if r := reasons["field Id: missing"]; !strings.HasPrefix(r.Where, "Account record ") {
		t.Errorf("reject without id is at %q", r.Where)
	}
}

func TestDecodeSetsAsideWhatIsNotAnObject(t *testing.T) {
	t.Parallel()
	c, err := New(Options{Source: "sf", Auth: Auth{ClientID: "ck", RefreshToken: "rt"}})
	if err != nil {
		t.Fatal(err)
	}
	d := &decoder{c: c, instance: "https://acme.my.salesforce.com"}
	long := `{"Id":"0035g00000AbCdEAAV","LastName":"` + strings.Repeat("é", 2000) + `","Email":5}`
	records := []json.RawMessage{
		json.RawMessage(`"text"`), json.RawMessage(`[1]`), json.RawMessage(`null`),
		json.RawMessage(`{"Id":"0035g00000AbCdEAAV","LastName":"Ng","SystemModstamp":"2026-11-22T09:00:00.000+0000"}`),
		json.RawMessage(long),
	}
	var page connectors.Page
	last := d.decode(&page, c.entities[2], records)
	if len(page.Contacts) != 1 || len(page.Rejects) != 4 {
		t.Fatalf("contacts %d, rejects %+v", len(page.Contacts), page.Rejects)
	}
	if last != (position{ts: "2026-11-22T09:00:00.000+0000", id: "0035g00000AbCdEAAV"}) {
		t.Errorf("last position = %+v", last)
	}
	r := page.Rejects[3]
	if r.Where != "0035g00000AbCdEAAV" || len(r.Raw) > maxRaw+len("…") || !strings.HasSuffix(r.Raw, "…") {
		t.Errorf("long reject: where %q, raw of %d bytes", r.Where, len(r.Raw))
	}
}
