package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/crmsync/crmsync/examples"
)

func TestWriteIsDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		if err := write(dir); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	for _, name := range fileNames {
		if !bytes.Equal(readFile(t, a, name), readFile(t, b, name)) {
			t.Errorf("%s differs between two runs", name)
		}
	}
}

func TestCommittedSampleIsCurrent(t *testing.T) {
	files, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range fileNames {
		if !bytes.Equal(files[name], readFile(t, "../sample", name)) {
			t.Errorf("examples/sample/%s is stale: run go run ./examples/gensample", name)
		}
	}
}

func TestAsOfMatchesExamples(t *testing.T) {
	if !asOf.Equal(examples.SampleAsOf) {
		t.Errorf("asOf = %v, examples.SampleAsOf = %v", asOf, examples.SampleAsOf)
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
