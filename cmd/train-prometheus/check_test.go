package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// issueExampleConfig is the configuration from the issue that introduced
// `check config`; it must stay valid as written.
const issueExampleConfig = `global:
  step: 1m
  window: 7d
  retrain_interval: 15m
  min_history: 1h
  external_labels: {}
forecasts:
  - name: node
    match: ['node_load1', '{__name__=~"http_requests:rate5m"}']
    aggregate: last
    models: [fourier, seasonal_naive]
    interval_width: 0.95
    horizons: [0s, 1h]
remote_write:
  - url: http://localhost:9090/api/v1/write
    headers: {}
    queue_config: {capacity: 10000, max_samples_per_send: 2000, batch_send_deadline: 5s,
                   min_backoff: 30ms, max_backoff: 5s, max_shards: 4}
limits:
  max_series: 100000
  max_request_bytes: 33554432
`

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	writeConfig := func(name, content string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		return path
	}
	goodFile := writeConfig("good.yml", issueExampleConfig)
	unknownModelFile := writeConfig("unknown_model.yml",
		"forecasts:\n  - name: node\n    match: [node_load1]\n    models: [fourier, crystal_ball]\n")
	unknownKeyFile := writeConfig("unknown_key.yml", "global:\n  step: 1m\n  bogus_key: 1\n")
	badURLFile := writeConfig("bad_url.yml", "remote_write:\n  - url: ftp://localhost/write\n")
	missingFile := filepath.Join(dir, "missing.yml")
	emptyFile := writeConfig("empty.yml", "")
	defaultsFile := writeConfig("defaults.yml", "{}\n")
	commentsFile := writeConfig("comments.yml", "# forecasts:\n#   - name: node\n")
	// Loads, but serving refuses it: the write-back's HTTP client cannot be
	// built without its CA file.
	missingCAFile := writeConfig("missing_ca.yml", "forecasts:\n  - name: a\n    match: [x]\n"+
		"remote_write:\n  - url: https://localhost/write\n    tls_config: {ca_file: "+filepath.Join(dir, "no-ca.pem")+"}\n")

	for _, tc := range []struct {
		name        string
		args        []string
		code        int
		stdout      []string // Substrings stdout must contain.
		stderr      []string // Substrings stderr must contain.
		emptyOut    bool     // Nothing may be written to stdout.
		emptyErrOut bool     // Nothing may be written to stderr.
	}{
		{
			name:        "embedded example",
			args:        []string{"check", "config", "train-prometheus.yml"},
			code:        0,
			stdout:      []string{"SUCCESS: train-prometheus.yml is valid: 2 forecasts entries, 1 remote_write targets"},
			emptyErrOut: true,
		},
		{
			name: "valid but does nothing",
			args: []string{"check", "config", defaultsFile},
			code: 0,
			stdout: []string{"SUCCESS: " + defaultsFile + " is valid: 0 forecasts entries, 0 remote_write targets",
				"WARNING: no forecasts entries", "WARNING: no remote_write targets"},
			emptyErrOut: true,
		},
		{
			name:        "issue example in a temporary file",
			args:        []string{"check", "config", goodFile},
			code:        0,
			stdout:      []string{"SUCCESS: " + goodFile + " is valid: 1 forecasts entries, 1 remote_write targets"},
			emptyErrOut: true,
		},
		{
			name:     "unknown model",
			args:     []string{"check", "config", unknownModelFile},
			code:     1,
			stderr:   []string{"FAILED:", unknownModelFile, `forecasts[0] (node): models: unknown model "crystal_ball"`},
			emptyOut: true,
		},
		{
			name:     "empty file",
			args:     []string{"check", "config", emptyFile},
			code:     1,
			stderr:   []string{"FAILED:", emptyFile, "the configuration is empty"},
			emptyOut: true,
		},
		{
			name:     "comments only",
			args:     []string{"check", "config", commentsFile},
			code:     1,
			stderr:   []string{"FAILED:", commentsFile, "the configuration is empty"},
			emptyOut: true,
		},
		{
			name:     "unknown key",
			args:     []string{"check", "config", unknownKeyFile},
			code:     1,
			stderr:   []string{"FAILED:", "field bogus_key not found"},
			emptyOut: true,
		},
		{
			name:     "bad remote_write url",
			args:     []string{"check", "config", badURLFile},
			code:     1,
			stderr:   []string{"FAILED:", `remote_write[0]: url "ftp://localhost/write": scheme must be http or https`},
			emptyOut: true,
		},
		{
			name:     "remote_write CA file missing",
			args:     []string{"check", "config", missingCAFile},
			code:     1,
			stderr:   []string{"FAILED:", "check remote_write config", "no-ca.pem"},
			emptyOut: true,
		},
		{
			name:     "missing file",
			args:     []string{"check", "config", missingFile},
			code:     1,
			stderr:   []string{"FAILED: read config file", "missing.yml"},
			emptyOut: true,
		},
		{
			name:     "unknown flag",
			args:     []string{"--no-such-flag", "check", "config", goodFile},
			code:     2,
			stderr:   []string{"unknown long flag '--no-such-flag'", "try --help"},
			emptyOut: true,
		},
		{
			name:     "unknown flag after the command",
			args:     []string{"check", "config", "--no-such-flag", goodFile},
			code:     2,
			stderr:   []string{"unknown long flag '--no-such-flag'"},
			emptyOut: true,
		},
		{
			name:     "file argument missing",
			args:     []string{"check", "config"},
			code:     2,
			stderr:   []string{"required argument 'file' not provided"},
			emptyOut: true,
		},
		{
			name:     "unknown check subcommand",
			args:     []string{"check", "rules", goodFile},
			code:     2,
			stderr:   []string{"expected command but got \"rules\""},
			emptyOut: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := runMain(tc.args, &out, &errOut)
			require.Equal(t, tc.code, code, "stdout: %s\nstderr: %s", out.String(), errOut.String())
			for _, s := range tc.stdout {
				require.Contains(t, out.String(), s)
			}
			for _, s := range tc.stderr {
				require.Contains(t, errOut.String(), s)
			}
			if tc.emptyOut {
				require.Empty(t, out.String())
			}
			if tc.emptyErrOut {
				require.Empty(t, errOut.String())
			}
		})
	}
}

// TestSubcommandFlags: each command's help lists only the flags it uses:
// the server's listener, shard and storage flags belong to serve, which
// stays the default command (so they work without naming it).
func TestSubcommandFlags(t *testing.T) {
	help := func(args ...string) string {
		// --help exits the process: run the binary.
		cmd := exec.Command(os.Args[0], append(args, "--help")...)
		cmd.Env = append(os.Environ(), runMainEnv+"=1")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	serveOnly := []string{"web.listen-address", "web.config.file", "shard.total", "storage.path", "web.enable-pprof", "config.file"}
	for _, cmd := range []string{"detect", "forecast", "evaluate", "check config"} {
		h := help(strings.Fields(cmd)...)
		for _, f := range serveOnly {
			require.NotContains(t, h, f, "%s --help", cmd)
		}
	}
	h := help("serve")
	for _, f := range serveOnly {
		require.Contains(t, h, f, "serve --help")
	}
	// The default command takes its flags without being named.
	var out, errOut bytes.Buffer
	require.Equal(t, 2, runMain([]string{"--shard.total=0x"}, &out, &errOut))
	require.Contains(t, errOut.String(), `parsing "0x"`, "serve parsed its flag")
	require.NotContains(t, errOut.String(), "unknown long flag")
	out.Reset()
	errOut.Reset()
	require.Equal(t, 2, runMain([]string{"detect", "--shard.total=2"}, &out, &errOut))
	require.Contains(t, errOut.String(), "unknown long flag '--shard.total'")
}
