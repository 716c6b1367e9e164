package deploytest

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// deployDir is the repository's deploy/ directory.
const deployDir = ".."

var adapter struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// TestMain removes the adapter binary built by adapterBinary.
func TestMain(m *testing.M) {
	code := m.Run()
	if adapter.dir != "" {
		os.RemoveAll(adapter.dir)
	}
	os.Exit(code)
}

// adapterBinary returns the train-prometheus binary of this checkout:
// $TRAIN_PROMETHEUS_BINARY if set, else built once from ../cmd/train-prometheus
// (with -race when these tests run with it, so that `make test` reuses the
// packages its race-enabled run of the root module compiled).
func adapterBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TRAIN_PROMETHEUS_BINARY"); p != "" {
		return p
	}
	adapter.once.Do(func() {
		adapter.dir, adapter.err = os.MkdirTemp("", "deploytest")
		if adapter.err != nil {
			return
		}
		adapter.path = filepath.Join(adapter.dir, "train-prometheus")
		args := []string{"build", "-o", adapter.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, "./cmd/train-prometheus")...)
		cmd.Dir = filepath.Join(deployDir, "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			adapter.err = errors.New("go build ./cmd/train-prometheus: " + err.Error() + "\n" + string(out))
		}
	})
	require.NoError(t, adapter.err)
	return adapter.path
}

// runAdapter runs the binary with args and returns its exit code and output.
func runAdapter(t *testing.T, args ...string) (code int, output string) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(adapterBinary(t), args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), out.String()
	}
	require.NoError(t, err)
	return 0, out.String()
}
