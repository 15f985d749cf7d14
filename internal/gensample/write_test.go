package gensample_test

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"

	"github.com/crmsync/crmsync/examples"
	"github.com/crmsync/crmsync/internal/gensample"
)

func TestWriteIsDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if err := gensample.Write(dir, 500, 7); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	for _, name := range gensample.FileNames {
		if !bytes.Equal(readFile(t, a, name), readFile(t, b, name)) {
			t.Errorf("%s differs between two runs", name)
		}
	}
}

func TestWriteShape(t *testing.T) {
	tests := []struct {
		accounts int
		seed     uint64
		owners   int
	}{
		{accounts: 2000, seed: 1, owners: 25},
		{accounts: 12000, seed: 2, owners: 100},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		if err := gensample.Write(dir, tt.accounts, tt.seed); err != nil {
			t.Fatal(err)
		}
		rows := map[string]int{}
		for _, name := range gensample.FileNames {
			rows[name] = dataRows(t, dir, name)
		}
		if rows["owners.csv"] != tt.owners || rows["accounts.csv"] != tt.accounts {
			t.Errorf("%d accounts: %d owners and %d accounts, want %d and %d",
				tt.accounts, rows["owners.csv"], rows["accounts.csv"], tt.owners, tt.accounts)
		}
		perAccount := func(name string) float64 { return float64(rows[name]) / float64(tt.accounts) }
		if c := perAccount("contacts.csv"); c < 2.2 || c > 2.5 {
			t.Errorf("%d accounts: %.2f contacts per account, want about 2.35", tt.accounts, c)
		}
		if d := perAccount("deals.csv"); d < 3.2 || d > 3.8 {
			t.Errorf("%d accounts: %.2f deals per account, want about 3.5", tt.accounts, d)
		}
	}
}

func TestOtherSeedsHaveNoPlantedRows(t *testing.T) {
	dir := t.TempDir()
	if err := gensample.Write(dir, gensample.SampleAccounts, gensample.SampleSeed+1); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"accounts.csv", "contacts.csv", "deals.csv"} {
		if bytes.Contains(readFile(t, dir, name), []byte("Planted")) || bytes.Contains(readFile(t, dir, name), []byte("marie.dupont.example.com")) {
			t.Errorf("%s holds a planted bad row", name)
		}
	}
}

func TestAsOfMatchesExamples(t *testing.T) {
	if !gensample.AsOf.Equal(examples.SampleAsOf) {
		t.Errorf("AsOf = %v, examples.SampleAsOf = %v", gensample.AsOf, examples.SampleAsOf)
	}
}

func dataRows(t *testing.T, dir, name string) int {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(readFile(t, dir, name))).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return len(recs) - 1
}

func readFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
