package mondayfake

import (
	"embed"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// examples are the documented example payloads
// (/work/shared/reference/crm-examples/monday_*).
//
//go:embed examples/*.json
var examples embed.FS

// Boards of the CRM template that Seed and SeedDocumented create; the
// Deals board is the documented examples'.
const (
	BoardAccounts = "1234567880"
	BoardContacts = "1234567885"
	BoardDeals    = "1234567890"
)

// Users of the documented users example: Claire is active, Paul
// deactivated.
const (
	UserClaire = "58000001"
	UserPaul   = "58000002"
)

// Template columns: the column ids of the CRM template boards as the
// fake lays them out (the documented deal columns, and the same naming
// for accounts and contacts).
var (
	AccountColumns = []Column{
		{ID: "account_owner", Title: "Owner", Type: "people"},
		{ID: "account_domain", Title: "Domain", Type: "link"},
		{ID: "account_status", Title: "Type", Type: "status"},
		{ID: "account_contacts", Title: "Contacts", Type: "board_relation"},
		{ID: "account_language", Title: "Language", Type: "dropdown"},
	}
	ContactColumns = []Column{
		{ID: "contact_account", Title: "Accounts", Type: "board_relation"},
		{ID: "contact_email", Title: "Email", Type: "email"},
		{ID: "contact_phone", Title: "Phone", Type: "phone"},
		{ID: "contact_title", Title: "Title", Type: "text"},
		{ID: "contact_opt_out", Title: "Email opt-out", Type: "checkbox"},
	}
	DealColumns = []Column{
		{ID: "deal_stage", Title: "Stage", Type: "status"},
		{ID: "deal_value", Title: "Deal value", Type: "numbers"},
		{ID: "deal_owner", Title: "Owner", Type: "people"},
		{ID: "deal_contact", Title: "Contacts", Type: "board_relation"},
		{ID: "deal_account", Title: "Accounts", Type: "board_relation"},
		{ID: "deal_close_date", Title: "Close date", Type: "date"},
	}
)

// addTemplate creates the three CRM boards and the documented users, if
// missing.
func (s *Server) addTemplate() {
	s.mu.Lock()
	_, have := s.boards[BoardDeals]
	s.mu.Unlock()
	if have {
		return
	}
	s.AddBoard(BoardAccounts, "Accounts", AccountColumns)
	s.AddBoard(BoardContacts, "Contacts", ContactColumns)
	s.AddBoard(BoardDeals, "Deals", DealColumns)
	var users struct {
		Data struct {
			Users []struct {
				ID, Name, Email string
				Enabled         bool
				IsGuest         bool   `json:"is_guest"`
				CreatedAt       string `json:"created_at"`
			}
		}
	}
	mustExample("monday_users_response.json", &users)
	for _, u := range users.Data.Users {
		at, _ := time.Parse(time.RFC3339, u.CreatedAt)
		s.AddUser(User{ID: u.ID, Name: u.Name, Email: u.Email, Enabled: u.Enabled, IsGuest: u.IsGuest, CreatedAt: at})
	}
}

func mustExample(name string, v any) {
	data, err := examples.ReadFile("examples/" + name)
	if err == nil {
		err = json.Unmarshal(data, v)
	}
	if err != nil {
		panic(fmt.Sprintf("mondayfake: example %s: %v", name, err)) // embedded at build time
	}
}

// Seed adds n accounts to the CRM template boards, each with
// contactsPer contacts and dealsPer deals (every other deal Won), owned
// by the documented users in turn.
func (s *Server) Seed(n, contactsPer, dealsPer int) error {
	s.addTemplate()
	s.mu.Lock()
	defer s.mu.Unlock()
	owners := []string{UserClaire, UserPaul}
	for i := range n {
		s.accountSeq++
		k := s.accountSeq
		acc := strconv.Itoa(9500000000 + k)
		owner := []string{owners[k%2]}
		status := []string{"Customer", "Prospect"}[k%2]
		var contacts []string
		for j := range contactsPer {
			contacts = append(contacts, strconv.Itoa(9600000000+k*100+j))
		}
		err := s.upsertLocked(BoardAccounts, Item{ID: acc, Name: fmt.Sprintf("Account %d", k), Values: map[string]any{
			"account_owner": owner, "account_domain": fmt.Sprintf("https://www.account%d.example", k),
			"account_status": status, "account_contacts": contacts, "account_language": "French",
		}})
		for j, id := range contacts {
			if err != nil {
				break
			}
			err = s.upsertLocked(BoardContacts, Item{ID: id, Name: fmt.Sprintf("Contact%d Person%d", j, k), Values: map[string]any{
				"contact_account": []string{acc}, "contact_email": fmt.Sprintf("c%d.p%d@account%d.example", j, k, k),
				"contact_phone": "+33 1 23 45 67 89", "contact_title": "Buyer", "contact_opt_out": j%2 == 1,
			}})
		}
		for j := range dealsPer {
			if err != nil {
				break
			}
			stage := []string{"Won", "Proposal"}[j%2]
			err = s.upsertLocked(BoardDeals, Item{ID: strconv.Itoa(9700000000 + k*100 + j), Name: fmt.Sprintf("Deal %d-%d", k, j), Values: map[string]any{
				"deal_stage": stage, "deal_value": float64(1000 * (j + 1)), "deal_owner": owner,
				"deal_account": []string{acc}, "deal_close_date": "2024-06-28",
			}})
		}
		if err != nil {
			return fmt.Errorf("seed account %d: %w", i, err)
		}
	}
	return nil
}

// SeedDocumented adds the documented example: the users of
// monday_users_response.json and the three deals of the items_page
// examples on the Deals board, with their accounts and contacts.
func (s *Server) SeedDocumented() error {
	s.addTemplate()
	var p1, p2 struct {
		Data struct {
			Boards []struct {
				ItemsPage itemsJSON `json:"items_page"`
			}
			NextItemsPage itemsJSON `json:"next_items_page"`
		}
	}
	mustExample("monday_items_page_response_page1.json", &p1)
	mustExample("monday_next_items_page_response_last.json", &p2)
	items := append(p1.Data.Boards[0].ItemsPage.Items, p2.Data.NextItemsPage.Items...)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, it := range items {
		values := map[string]any{}
		for _, cv := range it.ColumnValues {
			switch cv.Type {
			case "status":
				values[cv.ID] = cv.Label
			case "numbers":
				values[cv.ID] = cv.Number
			case "people":
				var ids []string
				for _, p := range cv.PersonsAndTeams {
					ids = append(ids, p.ID)
				}
				values[cv.ID] = ids
			case "board_relation":
				values[cv.ID] = cv.LinkedItemIDs
				board, prefix := BoardContacts, "Contact "
				if cv.ID == "deal_account" {
					board, prefix = BoardAccounts, ""
				}
				for _, id := range cv.LinkedItemIDs {
					if s.boards[board].items[id] == nil {
						if err := s.upsertLocked(board, Item{ID: id, Name: prefix + cv.DisplayValue}); err != nil {
							return err
						}
					}
				}
			case "date":
				values[cv.ID] = cv.Date
			}
		}
		if err := s.upsertLocked(BoardDeals, Item{ID: it.ID, Name: it.Name, Values: values}); err != nil {
			return err
		}
		x := s.boards[BoardDeals].items[it.ID]
		x.created, _ = time.Parse(time.RFC3339, it.CreatedAt)
		x.updated, _ = time.Parse(time.RFC3339, it.UpdatedAt)
	}
	return nil
}

// itemsJSON is an items page of the examples.
type itemsJSON struct {
	Items []struct {
		ID, Name     string
		CreatedAt    string `json:"created_at"`
		UpdatedAt    string `json:"updated_at"`
		ColumnValues []struct {
			ID, Type        string
			Label           string
			Number          float64
			Date            string
			DisplayValue    string   `json:"display_value"`
			LinkedItemIDs   []string `json:"linked_item_ids"`
			PersonsAndTeams []struct {
				ID string
			} `json:"persons_and_teams"`
		} `json:"column_values"`
	}
}
