package sqlite

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDatasync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("pages"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path) // read-only, as the checkpointer's descriptor
	if err != nil {
		t.Fatal(err)
	}
	if err := datasync(f); err != nil {
		t.Errorf("datasync of an open file: %v", err)
	}
	f.Close()
	if err := datasync(f); err == nil {
		t.Error("datasync of a closed file succeeded; want an error")
	}
}
