package dynamicsfake

import (
	"embed"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// examples are the documented payloads of crm-examples/dynamics_*.json.
//
//go:embed examples/*.json
var examples embed.FS

// exampleFiles are the example pages SeedDocumented loads, per entity set.
var exampleFiles = []struct{ set, file string }{
	{"systemusers", "dynamics_systemusers.json"},
	{"accounts", "dynamics_accounts_page1.json"},
	{"contacts", "dynamics_contacts_page1.json"},
	{"contacts", "dynamics_contacts_page2.json"},
	{"opportunities", "dynamics_opportunities_page1.json"},
	{"opportunities", "dynamics_opportunities_page2.json"},
	{"activitypointers", "dynamics_activitypointers_page1.json"},
}

// SeedDocumented stores the rows of the documented example pages
// (2 system users, 3 accounts, 5 contacts, 3 opportunities, 3
// activities) with their ids, values and etags.
func (s *Server) SeedDocumented() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ex := range exampleFiles {
		data, err := examples.ReadFile("examples/" + ex.file)
		if err != nil {
			return fmt.Errorf("dynamicsfake: %w", err)
		}
		var page struct {
			Value []map[string]any `json:"value"`
		}
		if err := json.Unmarshal(data, &page); err != nil {
			return fmt.Errorf("dynamicsfake: %s: %w", ex.file, err)
		}
		for _, row := range page.Value {
			if err := s.seedExampleRow(ex.set, row); err != nil {
				return fmt.Errorf("dynamicsfake: %s: %w", ex.file, err)
			}
		}
	}
	return nil
}

// seedExampleRow stores one row of an example page, its annotations
// (recomputed when served) left out.
func (s *Server) seedExampleRow(set string, row map[string]any) error {
	def := tableDefs[set]
	fields := map[string]any{}
	etag, _ := row["@odata.etag"].(string)
	for k, v := range row {
		if strings.Contains(k, "@") {
			continue
		}
		c, ok := def.col(k)
		if !ok {
			return fmt.Errorf("unknown column %s", k)
		}
		if f, isNum := v.(float64); isNum && c.typ == tInt {
			v = int(f)
		}
		fields[k] = v
	}
	_, err := s.upsertLocked(set, fields, etag)
	return err
}

// seedAge is how long before Now the seeded modifiedon values start.
const seedAge = 30 * 24 * time.Hour

// Seed adds a deterministic environment: one system user per 100
// accounts (at least one), accounts, and per account contactsPer
// contacts, oppsPer opportunities (won, open and lost in turn; won ones
// with actualvalue and actualclosedate) and activitiesPer completed
// activities regarding the account. Values include nulls. Seed may be
// called again to add more.
func (s *Server) Seed(accounts, contactsPer, oppsPer, activitiesPer int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	base := s.opts.Now().UTC().Add(-seedAge).Truncate(time.Second)
	stamp := func(n int) string { return base.Add(time.Duration(n) * time.Second).Format(DateTimeLayout) }
	start := s.tables["accounts"].size()
	users := make([]string, 1+accounts/100)
	for i := range users {
		n := s.tables["systemusers"].size()
		id, err := s.upsertLocked("systemusers", map[string]any{
			"systemuserid": newGUID(fmt.Sprint("user", n)), "fullname": fmt.Sprintf("Rep %d", n),
			"internalemailaddress": fmt.Sprintf("rep%d@example.com", n), "domainname": fmt.Sprintf("rep%d@example.com", n),
			"isdisabled": n%10 == 9, "modifiedon": stamp(n),
		}, "")
		if err != nil {
			return err
		}
		users[i] = id
	}
	for i := start; i < start+accounts; i++ {
		if err := s.seedAccount(i, users[(i-start)%len(users)], contactsPer, oppsPer, activitiesPer, stamp); err != nil {
			return err
		}
	}
	return nil
}

func (t *table) size() int { return len(t.recs) + len(t.removed) }

func (s *Server) seedAccount(i int, owner string, contactsPer, oppsPer, activitiesPer int, stamp func(int) string) error {
	acct := map[string]any{
		"accountid": newGUID(fmt.Sprint("account", i)), "name": fmt.Sprintf("Account %06d", i),
		"websiteurl": fmt.Sprintf("https://www.account-%06d.example", i), "revenue": float64(i%50) * 100000,
		"_ownerid_value": owner, "donotemail": false, "donotbulkemail": i%10 == 0, "statecode": 0, "statuscode": 1,
		"modifiedon": stamp(i), "_transactioncurrencyid_value": USDCurrencyID,
		"customertypecode": []any{3, 8, nil, 1}[i%4],
	}
	if contactsPer > 0 {
		acct["_primarycontactid_value"] = newGUID(fmt.Sprint("contact", i*contactsPer))
	}
	if i%7 == 3 {
		acct["websiteurl"], acct["revenue"] = nil, nil
	}
	id, err := s.upsertLocked("accounts", acct, "")
	if err != nil {
		return err
	}
	for j := range contactsPer {
		n := i*contactsPer + j
		c := map[string]any{
			"contactid": newGUID(fmt.Sprint("contact", n)), "firstname": fmt.Sprintf("First%d", j),
			"lastname": fmt.Sprintf("Last%06d", i), "fullname": fmt.Sprintf("First%d Last%06d", j, i),
			"emailaddress1":           fmt.Sprintf("first%d.last%06d@account-%06d.example", j, i, i),
			"_parentcustomerid_value": id, "_ownerid_value": owner, "donotemail": n%10 == 0,
			"donotbulkemail": n%5 == 0, "statecode": 0, "statuscode": 1, "modifiedon": stamp(n),
		}
		if n%9 == 4 {
			c["emailaddress1"] = nil
		}
		if _, err := s.upsertLocked("contacts", c, ""); err != nil {
			return err
		}
	}
	for k := range oppsPer {
		if err := s.seedOpportunity(i, k, i*oppsPer+k, id, owner, stamp); err != nil {
			return err
		}
	}
	for a := range activitiesPer {
		n := i*activitiesPer + a
		end := stamp(n)
		if _, err := s.upsertLocked("activitypointers", map[string]any{
			"activityid": newGUID(fmt.Sprint("activity", n)), "activitytypecode": []string{"phonecall", "email", "appointment", "task"}[n%4],
			"subject": fmt.Sprintf("Activity %d", n), "_regardingobjectid_value": id, "_ownerid_value": owner,
			"actualend": end, "scheduledend": end, "statecode": 1, "statuscode": 2, "modifiedon": end,
		}, ""); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) seedOpportunity(i, k, n int, account, owner string, stamp func(int) string) error {
	state := []int{1, 0, 2}[n%3]
	status := map[int]int{0: 1, 1: 3, 2: 4}[state]
	value := float64(1000 * (n%97 + 1))
	closed := s.opts.Now().UTC().AddDate(0, 0, -(n % 700)).Format(DateLayout)
	o := map[string]any{
		"opportunityid": newGUID(fmt.Sprint("opportunity", n)), "name": fmt.Sprintf("Account %06d - Deal %d", i, k),
		"_parentaccountid_value": account, "_customerid_value": account, "estimatedvalue": value,
		"actualvalue": nil, "actualclosedate": nil, "estimatedclosedate": closed, "closeprobability": 50,
		"statecode": state, "statuscode": status, "_ownerid_value": owner, "modifiedon": stamp(n),
		"_transactioncurrencyid_value": USDCurrencyID,
	}
	if state != 0 {
		o["actualclosedate"], o["closeprobability"] = closed, map[int]int{1: 100, 2: 0}[state]
		o["actualvalue"] = map[int]float64{1: value, 2: 0}[state]
	}
	_, err := s.upsertLocked("opportunities", o, "")
	return err
}
