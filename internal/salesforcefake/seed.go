package salesforcefake

import (
	"fmt"
	"time"
)

// ContactLanguages are the values of Contact.Languages__c that Seed
// cycles through: the custom text field a Developer Edition org's Contact
// comes with, written as people do (names, a tag, a list, null).
var ContactLanguages = []any{"English", "French", nil, "fr-FR", "English;Spanish"}

// AccountTypes are the values of Account.Type that Seed cycles through
// (Salesforce's default picklist, plus null).
var AccountTypes = []any{"Customer - Direct", "Customer - Channel", "Prospect", "Channel Partner / Reseller",
	"Installation Partner", "Technology Partner", "Other", nil}

// tieGroup is how many seeded records of an sObject share a SystemModstamp
// second, so that clients must page through ties with the Id.
const tieGroup = 5

// seedAge is how long before now the seeded SystemModstamps start.
const seedAge = 20 * 24 * time.Hour

// Seed adds a deterministic org: users (one per 100 accounts, at least
// one), accounts, contactsPerAccount contacts and oppsPerAccount
// opportunities per account. Seeded SystemModstamps lie in the past, five
// records of an sObject per second, so that many tie; values include
// nulls. Contacts carry Languages__c (ContactLanguages). Seed may be called
// again to add more.
func (s *Server) Seed(accounts, contactsPerAccount, oppsPerAccount int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	base := s.org.stamp().Add(-seedAge)
	users := s.seedUsers(1+accounts/100, base)
	for i := range accounts {
		acct := s.seedAccount(i, users[i%len(users)], base)
		for j := range contactsPerAccount {
			s.seedContact(i, j, i*contactsPerAccount+j, acct, base)
		}
		for k := range oppsPerAccount {
			s.seedOpportunity(i, k, i*oppsPerAccount+k, acct, base)
		}
	}
}

// modstamp returns the seeded SystemModstamp of the n-th record of a kind.
func modstamp(base time.Time, n int) string {
	return base.Add(time.Duration(n/tieGroup) * time.Second).Format(DatetimeLayout)
}

func (s *Server) seedUsers(n int, base time.Time) []string {
	obj := s.org.object("User")
	ids := make([]string, n)
	for i := range ids {
		ids[i] = s.org.put(obj, map[string]any{
			"Name": fmt.Sprintf("Rep %d", i), "FirstName": "Rep", "LastName": fmt.Sprint(i),
			"Email": fmt.Sprintf("rep%d@example.com", i), "Username": fmt.Sprintf("rep%d@example.com.acme", i),
			"IsActive": i%10 != 9, "UserType": "Standard",
			"CreatedDate": base.Format(DatetimeLayout), "SystemModstamp": modstamp(base, i),
		}, false).id
	}
	return ids
}

func (s *Server) seedAccount(i int, owner string, base time.Time) string {
	f := map[string]any{
		"Name": fmt.Sprintf("Account %06d", i), "Website": fmt.Sprintf("https://www.account-%06d.example", i),
		"Type": AccountTypes[i%len(AccountTypes)], "Industry": "Manufacturing", "AnnualRevenue": float64(i%50) * 100000,
		"OwnerId": owner, "LastActivityDate": base.AddDate(0, 0, -(i % 200)).Format(DateLayout),
		"CreatedDate": base.AddDate(-2, 0, 0).Format(DatetimeLayout), "SystemModstamp": modstamp(base, i),
		"IsDeleted": false,
	}
	if i%7 == 3 {
		f["Website"], f["LastActivityDate"], f["AnnualRevenue"] = nil, nil, nil
	}
	return s.org.put(s.org.object("Account"), f, false).id
}

func (s *Server) seedContact(i, j, n int, account string, base time.Time) {
	first, last := fmt.Sprintf("First%d", j), fmt.Sprintf("Last%06d", i)
	f := map[string]any{
		"AccountId": account, "FirstName": first, "LastName": last,
		"Email": fmt.Sprintf("%s.%s@account-%06d.example", first, last, i), "Phone": fmt.Sprintf("+1 555 %07d", n),
		"Title": "Buyer", "HasOptedOutOfEmail": n%10 == 0, "DoNotCall": false, "IsEmailBounced": false,
		"LastActivityDate": base.AddDate(0, 0, -(n % 300)).Format(DateLayout),
		"CreatedDate":      base.AddDate(-1, 0, 0).Format(DatetimeLayout), "SystemModstamp": modstamp(base, n),
		"IsDeleted": false, "Languages__c": ContactLanguages[n%len(ContactLanguages)],
	}
	if n%9 == 4 {
		f["Email"], f["Phone"], f["LastActivityDate"] = nil, nil, nil
	}
	s.org.put(s.org.object("Contact"), f, false)
}

func (s *Server) seedOpportunity(i, k, n int, account string, base time.Time) {
	won, closed := n%3 != 2, n%3 != 1
	if !closed {
		won = false
	}
	stage := map[bool]string{true: "Closed Won", false: "Closed Lost"}[won]
	if !closed {
		stage = "Proposal/Price Quote"
	}
	f := map[string]any{
		"AccountId": account, "Name": fmt.Sprintf("Account %06d - Deal %d", i, k),
		"Amount": float64(1000 * (n%97 + 1)), "CloseDate": base.AddDate(0, 0, -(n % 700)).Format(DateLayout),
		"StageName": stage, "IsClosed": closed, "IsWon": won, "Probability": 50.0,
		"CreatedDate": base.AddDate(-1, 0, 0).Format(DatetimeLayout), "SystemModstamp": modstamp(base, n),
		"IsDeleted": false,
	}
	if n%11 == 5 {
		f["Amount"] = nil
	}
	s.org.put(s.org.object("Opportunity"), f, false)
}
