// Package golden compares encodings with files committed under testdata,
// so that a change to an encoder that alters a single byte of a saved
// format fails a test. Run the tests with -update to rewrite the files
// from the current encoders (and review the diff: a golden file changes
// only with a new format version).
//
//	got, _ := fit.MarshalBinary()
//	want := golden.Bytes(t, "state-v3.bin", got) // fails unless got == want
//	restored, err := Restore(want)
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata from the current encoders")

// Bytes requires got to equal the contents of testdata/name and returns
// them. With -update it first writes got to that file.
func Bytes(t testing.TB, name string, got []byte) []byte {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run the test with -update to create it")
	require.Equal(t, want, got, "encoding differs from %s", path)
	return want
}
