package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/crmsync/crmsync/internal/gensample"
)

func TestCommittedSampleIsCurrent(t *testing.T) {
	dir := t.TempDir()
	if err := gensample.Write(dir, gensample.SampleAccounts, gensample.SampleSeed); err != nil {
		t.Fatal(err)
	}
	for _, name := range gensample.FileNames {
		if !bytes.Equal(readFile(t, dir, name), readFile(t, "../sample", name)) {
			t.Errorf("examples/sample/%s is stale: run go run ./examples/gensample", name)
		}
	}
}

func readFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}
