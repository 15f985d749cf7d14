package dynamics

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/connectors"
	"github.com/crmsync/crmsync/model"
)

// decodeOne maps one row of the entity set into a page.
func decodeOne(t *testing.T, m connectors.Mapping, set, row string) connectors.Page {
	t.Helper()
	c, err := New(Options{Source: "dyn", BaseURL: "https://acme.crm.dynamics.com", Mapping: m,
		Auth: Auth{TenantID: testTenant, ClientID: testClient, ClientSecret: testSecret}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range c.entities() {
		if e.set == set {
			d := &decoder{c: c, currencies: map[string]string{usdID: "USD"},
				activity: map[string]time.Time{acmeID: time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC)}}
			var p connectors.Page
			d.decode(&p, e, []json.RawMessage{json.RawMessage(row)})
			return p
		}
	}
	t.Fatalf("no entity set %s", set)
	return connectors.Page{}
}

func TestMappingRejects(t *testing.T) {
	tests := []struct {
		name, set, row, reason, where string
	}{
		{"not an object", "accounts", `[1]`, "not a JSON object", "accounts row 1 of a page"},
		{"no id", "accounts", `{"name":"Acme"}`, "field accountid: missing", "accounts row 1 of a page"},
		{"bad id", "contacts", `{"contactid":"42"}`, `field contactid: "42" is not a Dataverse id`, "42"},
		{"account without name", "accounts", `{"accountid":"` + acmeID + `","name":null}`, "field name: missing", acmeID},
		{"number as text", "accounts", `{"accountid":"` + acmeID + `","name":7}`, "field name: want a string, got a number", acmeID},
		{"bad datetime", "contacts", `{"contactid":"` + mariaID + `","modifiedon":"yesterday"}`, `unparseable datetime "yesterday"`, mariaID},
		{"bool as text", "contacts", `{"contactid":"` + mariaID + `","donotemail":"Do Not Allow"}`, "field donotemail: want a boolean, got a string", mariaID},
		{"bad lookup", "contacts", `{"contactid":"` + mariaID + `","_parentcustomerid_value":"acme"}`, `"acme" is not a Dataverse id`, mariaID},
		{"won without close date", "opportunities", `{"opportunityid":"` + acmeID + `","statecode":1,"actualvalue":5}`, "actualclosedate: missing on a won opportunity", acmeID},
		{"amount as text", "opportunities", `{"opportunityid":"` + acmeID + `","statecode":0,"estimatedvalue":"lots"}`, "field estimatedvalue: want a number", acmeID},
		{"deleted stub with bad id", "contacts", `{"@odata.context":"x/$metadata#contacts/$deletedEntity","id":"nope","reason":"deleted"}`, "deleted row", "contacts row 1 of a page"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := decodeOne(t, connectors.Mapping{}, tt.set, tt.row)
			if p.Len() != 0 || len(p.Rejects) != 1 {
				t.Fatalf("page = %+v, want one reject", p)
			}
			r := p.Rejects[0]
			if !strings.Contains(r.Reason, tt.reason) || r.Where != tt.where || r.Source != "dyn" || r.Raw != tt.row {
				t.Errorf("reject = %+v, want reason %q at %q", r, tt.reason, tt.where)
			}
		})
	}
}

func TestMappingAccounts(t *testing.T) {
	custom := connectors.Mapping{
		Lifecycle:    connectors.LifecycleMapping{Field: "new_stage", Map: map[string]model.Lifecycle{"Client": model.Customer, "Churned": model.Former}},
		LastActivity: []string{"new_lastvisit"},
		Extra:        []string{"new_tier", "new_seats"},
		Language:     connectors.LanguageMapping{Account: "new_language"},
	}
	base := `"accountid":"` + acmeID + `","name":"Acme <script>","websiteurl":"www.Acme.com/about"`
	tests := []struct {
		name    string
		mapping connectors.Mapping
		row     string
		check   func(t *testing.T, a model.Account)
	}{
		{"default customer", connectors.Mapping{}, `{` + base + `,"customertypecode":3}`, func(t *testing.T, a model.Account) {
			if a.Lifecycle != model.Customer || a.Domain != "acme.com" || a.Name != "Acme <script>" {
				t.Errorf("account = %+v", a)
			}
		}},
		{"default prospect", connectors.Mapping{}, `{` + base + `,"customertypecode":8}`, func(t *testing.T, a model.Account) {
			if a.Lifecycle != model.Prospect {
				t.Errorf("lifecycle = %q", a.Lifecycle)
			}
		}},
		{"default other", connectors.Mapping{}, `{` + base + `,"customertypecode":5}`, func(t *testing.T, a model.Account) {
			if a.Lifecycle != model.Other {
				t.Errorf("lifecycle = %q", a.Lifecycle)
			}
		}},
		{"team owner, primary contact", connectors.Mapping{}, `{` + base + `,"_ownerid_value":"` + johnID + `","_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname":"team","_primarycontactid_value":"` + mariaID + `"}`, func(t *testing.T, a model.Account) {
			if a.OwnerID != "" || a.PrimaryContactID != "dyn:"+mariaID {
				t.Errorf("owner %q (a team has no email: want none), primary %q", a.OwnerID, a.PrimaryContactID)
			}
		}},
		{"activity from aggregate", connectors.Mapping{}, `{` + base + `}`, func(t *testing.T, a model.Account) {
			if !a.LastActivityAt.Equal(time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("last activity = %v", a.LastActivityAt)
			}
		}},
		{"custom mapping", custom, `{` + base + `,"new_stage":"client","new_lastvisit":"2024-10-02","new_tier":"Gold","new_seats":12,"new_language":"French"}`, func(t *testing.T, a model.Account) {
			if a.Lifecycle != model.Customer || !a.LastActivityAt.Equal(time.Date(2024, 10, 2, 0, 0, 0, 0, time.UTC)) ||
				a.Extra["new_tier"] != "Gold" || a.Extra["new_seats"] != "12" || a.Language != "fr" {
				t.Errorf("account = %+v", a)
			}
		}},
		{"custom lifecycle unmapped", custom, `{` + base + `,"new_stage":"Partner"}`, func(t *testing.T, a model.Account) {
			if a.Lifecycle != model.Other {
				t.Errorf("lifecycle = %q", a.Lifecycle)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := decodeOne(t, tt.mapping, "accounts", tt.row)
			if len(p.Rejects) != 0 || len(p.Accounts) != 1 {
				t.Fatalf("page = %+v", p)
			}
			tt.check(t, p.Accounts[0])
		})
	}
}

func TestMappingContactsAndDeals(t *testing.T) {
	p := decodeOne(t, connectors.Mapping{}, "contacts", `{"contactid":"`+mariaID+`","firstname":"Maria","_parentcustomerid_value":"`+tomID+`","_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname":"contact","donotemail":true}`)
	if len(p.Contacts) != 1 || p.Contacts[0].AccountID != "" || !p.Contacts[0].OptOut {
		t.Errorf("contact whose parent is a contact = %+v", p)
	}
	p = decodeOne(t, connectors.Mapping{}, "opportunities", `{"opportunityid":"`+acmeID+`","statecode":1,"actualvalue":12.5,"estimatedvalue":99,"actualclosedate":"2024-06-28","_transactioncurrencyid_value":"`+strings.ToUpper(usdID)+`","_customerid_value":"`+acmeID+`","_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname":"account"}`)
	if len(p.Deals) != 1 || p.Deals[0].Amount != 12.5 || p.Deals[0].Currency != "USD" || p.Deals[0].AccountID != "dyn:"+acmeID {
		t.Errorf("won deal by customer = %+v", p)
	}
	p = decodeOne(t, connectors.Mapping{}, "contacts", `{"@removed":{"reason":"deleted"},"@id":"contacts(`+mariaID+`)"}`)
	if len(p.Deleted) != 1 || p.Deleted[0] != (model.Deletion{Entity: model.EntityContact, ID: "dyn:" + mariaID}) {
		t.Errorf("OData 4.01 removed = %+v", p)
	}
}
