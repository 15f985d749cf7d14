package examples_test

import (
	"os"
	"testing"

	"github.com/crmsync/crmsync/connectors/csv"
)

// TestNoCRMExample: the worked example of examples/nocrm/README.md (a
// noCRM.io leads export turned into the four files, saved by a French
// Excel) loads with the settings the README gives, every row kept.
func TestNoCRMExample(t *testing.T) {
	c := csv.New("nocrm", os.DirFS("nocrm"), nil)
	f, err := csv.ParseFormat(";", "utf-8", "DD/MM/YYYY", ",")
	if err != nil {
		t.Fatal(err)
	}
	c.Format = f
	all := pullAll(t, c)
	if len(all.Rejects) > 0 {
		t.Fatalf("rejects: %+v", all.Rejects)
	}
	var won float64
	for _, d := range all.Deals {
		if d.Won {
			won += d.Amount
		}
	}
	if len(all.Accounts) != 3 || len(all.Contacts) != 4 || len(all.Deals) != 6 || len(all.Owners) != 2 || won != 47450.50 {
		t.Errorf("%d accounts, %d contacts, %d deals, %d owners, won %v; want 3, 4, 6, 2 and 47,450.50",
			len(all.Accounts), len(all.Contacts), len(all.Deals), len(all.Owners), won)
	}
	if a := all.Accounts[1]; a.Name != "Garage Lefèvre & Fils" || a.OwnerID != "nocrm:hugo.bernard@exemple.fr" {
		t.Errorf("account = %+v", a)
	}
}
