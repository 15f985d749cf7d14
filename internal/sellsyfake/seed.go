package sellsyfake

import (
	"embed"
	"encoding/json"
	"fmt"
	"time"
)

//go:embed examples/*.json
var examples embed.FS

// Staff ids the seeds use: an active one and a blocked one, as in the
// documented staff list.
const (
	StaffActive  = 4011
	StaffBlocked = 4012
)

// SeedBase is the updated_at of seeded objects (plus a minute per
// object), long before any change a test makes.
var SeedBase = time.Date(2024, 9, 1, 8, 0, 0, 0, time.UTC)

// SeedDocumented loads the documented example payloads: the two staff,
// the companies Acme Widgets (51234) and Globex (51299), the contact
// Julien Moreau (770501) linked to Acme, and the won and open
// opportunities.
func (s *Server) SeedDocumented() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range []struct{ file, kind string }{
		{"sellsy_staffs_list.json", KindStaffs},
		{"sellsy_companies_search_page1.json", KindCompanies},
		{"sellsy_contacts_search_page1.json", KindContacts},
		{"sellsy_opportunities_search_page1.json", KindOpportunities},
	} {
		data, err := examples.ReadFile("examples/" + f.file)
		if err != nil {
			return err
		}
		var page struct{ Data []map[string]any }
		if err := json.Unmarshal(data, &page); err != nil {
			return fmt.Errorf("sellsyfake: %s: %w", f.file, err)
		}
		for _, obj := range page.Data {
			delete(obj, "_embed")
			id, _ := obj["id"].(float64)
			if _, err := s.putLocked(f.kind, int(id), obj, false); err != nil {
				return err
			}
		}
	}
	s.linkLocked(770501, 51234)
	return nil
}

// Seed adds companies companies and individuals individuals, each
// company with contactsPer linked contacts (the first its main contact),
// each company and individual with dealsPer opportunities (every other
// one won) and activitiesPer CRM activities, all owned by StaffActive.
// Values cycle so that tests see every case: company i is a client, a
// prospect or a supplier in turn, has no website when i%7 == 3 and is
// not subscribed to email when i%2 == 1; contact j is not subscribed
// when j%3 == 0.
func (s *Server) Seed(companies, individuals, contactsPer, dealsPer, activitiesPer int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seedStaff()
	n := 0
	stamp := func() string { n++; return Stamp(SeedBase.Add(time.Duration(n) * time.Minute)) }
	types := []string{"client", "prospect", "supplier"}
	for i := range companies {
		cid := s.seq[KindCompanies] + 1
		var first int
		for j := range contactsPer {
			k := s.seq[KindContacts] + 1
			subs := []any{"email", "phone"}
			if k%3 == 0 {
				subs = []any{"phone"}
			}
			id, _ := s.putLocked(KindContacts, 0, map[string]any{
				"civility": "mrs", "first_name": fmt.Sprintf("First%d", k), "last_name": fmt.Sprintf("Last%d", k),
				"email": fmt.Sprintf("contact-%06d@company-%06d.example", k, cid), "phone_number": nil,
				"mobile_number": "+33 6 00 00 00 00", "position": []string{"CEO", "CFO", "Buyer"}[j%3],
				"owner": map[string]any{"id": StaffActive, "type": "staff"}, "created": Stamp(SeedBase),
				"updated": stamp(), "is_archived": false, "marketing_campaigns_subscriptions": subs,
				"sync": map[string]any{"mailchimp": false, "mailjet": false, "simplemail": false},
			}, false)
			s.linkLocked(id, cid)
			if j == 0 {
				first = id
			}
		}
		subs := []any{"email", "sms"}
		if i%2 == 1 {
			subs = []any{}
		}
		website := any(fmt.Sprintf("https://www.company-%06d.example", cid))
		if i%7 == 3 {
			website = nil
		}
		main := any(nil)
		if first != 0 {
			main = first
		}
		s.putLocked(KindCompanies, cid, map[string]any{
			"type": types[i%3], "name": fmt.Sprintf("Company %06d", cid), "email": fmt.Sprintf("hello@company-%06d.example", cid),
			"website": website, "owner": map[string]any{"id": StaffActive, "type": "staff"}, "created": Stamp(SeedBase),
			"updated_at": stamp(), "is_archived": false, "main_contact_id": main,
			"marketing_campaigns_subscriptions": subs,
		}, false)
		s.seedDeals("company_id", cid, dealsPer, first)
		s.seedActivities(map[string]any{"id": cid, "type": "company", "name": fmt.Sprintf("Company %06d", cid)}, first, activitiesPer)
	}
	for i := range individuals {
		id := s.seq[KindIndividuals] + 1
		s.putLocked(KindIndividuals, id, map[string]any{
			"type": types[i%2], "first_name": fmt.Sprintf("Indi%d", id), "last_name": "Vidual",
			"email": fmt.Sprintf("individual-%06d@mail.example", id), "owner": map[string]any{"id": StaffActive, "type": "staff"},
			"created": Stamp(SeedBase), "updated_at": stamp(), "is_archived": false,
			"marketing_campaigns_subscriptions": []any{"email"},
		}, false)
		s.seedDeals("individual_id", id, dealsPer, 0)
		s.seedActivities(map[string]any{"id": id, "type": "individual", "name": fmt.Sprintf("Indi%d Vidual", id)}, 0, activitiesPer)
	}
	return nil
}

// seedStaff adds the two documented staff once.
func (s *Server) seedStaff() {
	if len(s.data[KindStaffs].byID) > 0 {
		return
	}
	for _, st := range []map[string]any{
		{"id": StaffActive, "firstname": "Claire", "lastname": "Martin", "email": "claire.martin@example-agency.fr", "status": "ok"},
		{"id": StaffBlocked, "firstname": "Paul", "lastname": "Nguyen", "email": "paul.nguyen@example-agency.fr", "status": "blocked"},
	} {
		s.putLocked(KindStaffs, st["id"].(int), st, false)
	}
}

// seedDeals adds n opportunities of a company or an individual: even
// ones won a month after SeedBase (plus a minute per id), odd ones open.
func (s *Server) seedDeals(key string, owner, n, contact int) {
	for d := range n {
		id := s.seq[KindOpportunities] + 1
		fields := map[string]any{
			"number": fmt.Sprintf("OPP-%05d", id), "name": fmt.Sprintf("Deal %d", id),
			"created": Stamp(SeedBase), "due_date": "2024-12-31", "status": "open", "updated_status": nil,
			"amount":   map[string]any{"value": fmt.Sprintf("%d.50", 1000+id), "currency": "EUR"},
			"pipeline": map[string]any{"id": 7, "name": "New business"}, "probability": 50,
			"owner": map[string]any{"id": StaffActive, "type": "staff"}, "assigned_staff_ids": []any{StaffActive},
			"company_id": nil, "individual_id": nil, key: owner, "contact_ids": []any{},
		}
		if contact != 0 {
			fields["contact_ids"] = []any{contact}
		}
		if d%2 == 0 {
			fields["status"] = "won"
			fields["updated_status"] = Stamp(SeedBase.Add(30*24*time.Hour + time.Duration(id)*time.Minute))
		}
		s.putLocked(KindOpportunities, id, fields, false)
	}
}

// seedActivities adds n emails sent to a company or an individual (and
// its first contact), a day apart from SeedBase.
func (s *Server) seedActivities(company map[string]any, contact, n int) {
	for a := range n {
		fields := map[string]any{
			"date": Stamp(SeedBase.Add(time.Duration(a+1) * 24 * time.Hour)), "event": "email.sent",
			"companies": []any{company}, "people": nil,
			"author": map[string]any{"id": StaffActive, "email": "claire.martin@example-agency.fr"},
		}
		if contact != 0 {
			fields["people"] = map[string]any{"id": contact, "name": fmt.Sprintf("First%d", contact)}
		}
		s.putLocked(KindActivities, 0, fields, false)
	}
}
