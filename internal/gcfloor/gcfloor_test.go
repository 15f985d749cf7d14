package gcfloor

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPercent(t *testing.T) {
	const mb = 1 << 20
	tests := []struct {
		name string
		live uint64
		want int
	}{
		{name: "nothing live yet", live: 0, want: 100},
		{name: "half the floor live", live: 64 * mb, want: 100},
		{name: "more than the floor live", live: 900 * mb, want: 100},
		{name: "32 MB live grows to 128", live: 32 * mb, want: 300},
		{name: "10 MB live", live: 10 * mb, want: 1150},
		{name: "1 MB live, capped", live: 1 * mb, want: maxPercent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percent(tt.live, 128*mb); got != tt.want {
				t.Errorf("Percent(%d MB) = %d, want %d", tt.live/mb, got, tt.want)
			}
		})
	}
}

func TestContainerFloor(t *testing.T) {
	const mb = 1 << 20
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name  string
		files []string
		want  uint64
	}{
		{name: "no cgroup files", files: []string{filepath.Join(dir, "missing")}, want: 256 * mb},
		{name: "v2 without a limit", files: []string{file("v2max", "max\n")}, want: 256 * mb},
		{name: "v2 512 MB: a quarter", files: []string{file("v2", "536870912\n")}, want: 128 * mb},
		{name: "v2 4 GB: the floor", files: []string{file("v2big", "4294967296\n")}, want: 256 * mb},
		{name: "v1 none", files: []string{filepath.Join(dir, "missing"), file("v1none", "9223372036854771712\n")}, want: 256 * mb},
		{name: "v1 256 MB", files: []string{filepath.Join(dir, "missing"), file("v1", "268435456")}, want: 64 * mb},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ContainerFloor(256*mb, tt.files...); got != tt.want {
				t.Errorf("ContainerFloor = %d MB, want %d MB", got/mb, tt.want/mb)
			}
		})
	}
}
