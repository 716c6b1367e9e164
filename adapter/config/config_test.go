package config

import (
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	commonconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v2"
)

// exampleFile is the configuration embedded in the binary.
const exampleFile = "../../cmd/train-prometheus/train-prometheus.yml"

// expectedErrors pairs every testdata/*.bad.yml with a substring of the
// error it must give; the substring names the offending field (or, where
// the YAML decoder rejects a value before validation, the value).
var expectedErrors = []struct {
	filename string
	errMsg   string
}{
	// Strict decoding: unknown keys anywhere, duplicates, wrong types.
	{"unknown_top_key.bad.yml", "field scrape_configs not found"},
	{"unknown_global_key.bad.yml", "field stepp not found"},
	{"unknown_forecast_key.bad.yml", "field modles not found in type config.ForecastConfig"},
	{"unknown_remote_write_key.bad.yml", "field queue not found"},
	{"unknown_queue_key.bad.yml", "field capacityy not found"},
	{"unknown_tls_key.bad.yml", "field ca_fil not found"},
	{"unknown_basic_auth_key.bad.yml", "field user not found"},
	{"unknown_limits_key.bad.yml", "field max_samples not found"},
	{"unknown_output_key.bad.yml", "field suffix not found"},
	{"duplicate_key.bad.yml", "field step already set"},
	{"empty.bad.yml", "the configuration is empty"},
	{"not_a_mapping.bad.yml", "cannot unmarshal !!seq"},
	{"global_step_not_duration.bad.yml", `global.step: not a valid duration string: "fast"`},
	{"forecast_window_not_duration.bad.yml", `forecasts[0].window: not a valid duration string: "long"`},
	{"remote_write_timeout_not_duration.bad.yml", `remote_write[1].queue_config.min_backoff: not a valid duration string: "soon"`},
	{"remote_write_header_name_invalid.bad.yml", `remote_write[0]: headers: "X Scope" is not a valid HTTP header name`},
	{"remote_write_header_value_newline.bad.yml", `remote_write[0]: headers: value of X-Scope-OrgID holds a control character`},
	{"remote_write_name_index_collision.bad.yml", `remote_write[2]: name "1" is also the default name of the unnamed remote_write[1]`},
	{"limits_max_series_string.bad.yml", "cannot unmarshal !!str `many` into int"},

	// global.
	{"global_step_zero.bad.yml", "global: step must be positive"},
	{"global_window_short.bad.yml", "global: window 1m0s must hold at least two steps of 1m0s"},
	{"global_window_too_many_steps.bad.yml", "global: window 1165h5m5s holds 4194305 steps of 1s; at most 4194304 are allowed"},
	{"global_step_overflow.bad.yml", "global: window 24h0m0s must hold at least two steps of 1752000h0m0s"},
	{"global_retrain_interval_zero.bad.yml", "global: retrain_interval must be positive"},
	{"global_min_history_over_window.bad.yml", "global: min_history 48h0m0s must not exceed window 24h0m0s"},
	{"global_evaluation_delay_ge_step.bad.yml", "global: evaluation_delay 1m must be shorter than step 1m"},
	{"global_staleness_zero.bad.yml", "global: staleness must be positive"},
	{"global_external_labels_invalid.bad.yml", `global: external_labels: invalid label name "1zone"`},
	{"global_external_labels_name.bad.yml", `global: external_labels: invalid label name "__name__"`},
	{"global_aggregate_unknown.bad.yml", `global: aggregate "median" is not one of [last mean min max sum]`},
	{"global_models_unknown.bad.yml", `global: models: unknown model "crystal_ball"`},
	{"global_models_duplicate.bad.yml", `global: models: "fourier" listed twice`},
	{"global_models_empty.bad.yml", "global: models must name at least one model"},
	{"global_interval_width_zero.bad.yml", "global: interval_width 0 must be between 0 and 1 (exclusive)"},
	{"global_interval_width_one.bad.yml", "global: interval_width 1 must be between 0 and 1 (exclusive)"},
	{"global_interval_width_nan.bad.yml", "global: interval_width NaN must be between 0 and 1 (exclusive)"},
	{"global_interval_width_negative.bad.yml", "global: interval_width -0.5 must be between 0 and 1 (exclusive)"},
	{"global_horizons_empty.bad.yml", "global: horizons must list at least one horizon"},
	// model.Duration cannot be negative: the decoder rejects it first.
	{"global_horizons_negative.bad.yml", `not a valid duration string: "-1h"`},
	{"global_horizons_duplicate.bad.yml", "global: horizons: 1h listed twice"},
	{"global_anomaly_threshold_zero.bad.yml", "global: anomaly_threshold 0 must be positive"},
	{"global_anomaly_threshold_negative.bad.yml", "global: anomaly_threshold -1 must be positive"},
	{"global_anomaly_threshold_nan.bad.yml", "global: anomaly_threshold NaN must be positive"},
	{"global_anomaly_min_deviation_negative.bad.yml", "global: anomaly_min_deviation -1 must be a finite number >= 0"},
	{"global_anomaly_direction_unknown.bad.yml", `global: anomaly_direction "sideways" is not one of [both up down]`},

	// forecasts.
	{"forecast_entry_null.bad.yml", "forecasts[0]: empty entry"},
	{"forecast_name_empty.bad.yml", "forecasts[0] (): name must not be empty"},
	{"forecast_name_duplicate.bad.yml", `forecasts[1]: duplicate name "node"`},
	{"forecast_match_missing.bad.yml", "forecasts[0] (node): match must list at least one series selector"},
	{"forecast_match_empty.bad.yml", "forecasts[0] (node): match must list at least one series selector"},
	{"forecast_match_invalid.bad.yml", `forecasts[0] (node): match[0] "node_load1{": 1:12: parse error`},
	{"forecast_match_expression.bad.yml", `forecasts[0] (node): match[1] "rate(x[5m])": 1:5: parse error`},
	{"forecast_match_all.bad.yml", `forecasts[0] (node): match[0] "{}": selector must contain at least one non-empty matcher`},
	{"forecast_match_only_empty_matchers.bad.yml", `forecasts[0] (node): match[0] "{job=\"\", env=~\".*\"}": selector must contain at least one non-empty matcher`},
	{"forecast_window_short.bad.yml", "forecasts[0] (node): window 1h0m0s must hold at least two steps of 1h0m0s"},
	{"forecast_window_too_many_steps.bad.yml", "forecasts[0] (node): window 1200h0m0s holds 4320000 steps of 1s"},
	{"forecast_step_overflow.bad.yml", "forecasts[0] (node): window 24h0m0s must hold at least two steps of 1752000h0m0s"},
	{"forecast_min_history_over_window.bad.yml", "forecasts[0] (node): min_history 48h0m0s must not exceed window 24h0m0s"},
	{"forecast_min_history_inherited_over_window.bad.yml", "forecasts[0] (node): min_history 2h0m0s must not exceed window 1h0m0s"},
	{"forecast_step_eval_delay.bad.yml", "forecasts[0] (node): step 10s must be longer than global.evaluation_delay 10s"},
	{"forecast_aggregate_unknown.bad.yml", `forecasts[0] (node): aggregate "median" is not one of`},
	{"forecast_transform_unknown.bad.yml", `forecasts[0] (node): transform "delta" is not one of [auto none rate]`},
	{"global_transform_unknown.bad.yml", `global: transform "Rate" is not one of [auto none rate]`},
	{"forecast_anomaly_min_deviation_nan.bad.yml", "forecasts[0] (node): anomaly_min_deviation NaN must be a finite number >= 0"},
	{"forecast_anomaly_min_deviation_inf.bad.yml", "forecasts[0] (node): anomaly_min_deviation +Inf must be a finite number >= 0"},
	{"forecast_anomaly_min_deviation_string.bad.yml", "cannot unmarshal !!str `lots` into float64"},
	{"forecast_anomaly_direction_unknown.bad.yml", `forecasts[0] (node): anomaly_direction "Up" is not one of [both up down]`},
	{"forecast_models_unknown.bad.yml", `forecasts[0] (node): models: unknown model "crystal_ball" (known: [`},
	{"forecast_models_duplicate.bad.yml", `forecasts[0] (node): models: "seasonal_naive" listed twice`},
	{"forecast_interval_width_zero.bad.yml", "forecasts[0] (node): interval_width 0 must be between 0 and 1"},
	{"forecast_step_zero.bad.yml", "forecasts[0] (node): step must be positive"},
	{"forecast_anomaly_threshold_zero.bad.yml", "forecasts[0] (node): anomaly_threshold 0 must be positive"},
	{"forecast_retrain_interval_too_short.bad.yml", "forecasts[0] (node): retrain_interval 10ms must be at least 1s"},
	{"forecast_interval_width_one.bad.yml", "forecasts[0] (node): interval_width 1 must be between 0 and 1"},
	{"forecast_interval_width_nan.bad.yml", "forecasts[0] (node): interval_width NaN must be between 0 and 1"},
	{"forecast_interval_width_negative.bad.yml", "forecasts[0] (node): interval_width -0.1 must be between 0 and 1"},
	{"forecast_horizons_negative.bad.yml", `not a valid duration string: "-5m"`},
	{"forecast_horizons_duplicate.bad.yml", "forecasts[0] (node): horizons: 1h listed twice"},
	{"forecast_horizons_not_multiple.bad.yml", "forecasts[0] (node): horizons: 1m30s is not a multiple of step 1m"},
	{"forecast_horizons_inherited_not_multiple.bad.yml", "forecasts[0] (node): horizons: 5m is not a multiple of step 2m"},
	{"forecast_anomaly_threshold_negative.bad.yml", "forecasts[0] (node): anomaly_threshold -2 must be positive"},
	{"forecast_anomaly_threshold_nan.bad.yml", "forecasts[0] (node): anomaly_threshold NaN must be positive"},
	{"forecast_seasonal_period_not_multiple.bad.yml", "forecasts[0] (node): seasonal_period 1m30s must be a multiple of step 1m"},
	{"forecast_seasonal_period_too_long.bad.yml", "forecasts[0] (node): seasonal_period 4d must fit twice in window 1w"},
	{"forecast_seasonal_period_overflow.bad.yml", "forecasts[0] (node): seasonal_period 200y must fit twice in window 1w"},
	{"forecast_second_entry.bad.yml", `forecasts[1] (disk): aggregate "median"`},

	// remote_write.
	{"remote_write_entry_null.bad.yml", "remote_write[0]: empty entry"},
	{"remote_write_url_missing.bad.yml", "remote_write[0]: url must be set"},
	{"remote_write_url_empty.bad.yml", "remote_write[0]: url must be set"},
	{"remote_write_url_scheme.bad.yml", `remote_write[0]: url "ftp://localhost/write": scheme must be http or https`},
	{"remote_write_url_no_host.bad.yml", `remote_write[0]: url "http:///api/v1/write": host must be set`},
	{"remote_write_url_invalid.bad.yml", `remote_write[0].url: parse "http://[::1/write": missing ']' in host`},
	{"remote_write_header_reserved.bad.yml", "remote_write[0]: headers: Content-Type is a reserved header"},
	{"remote_write_header_reserved_case.bad.yml", "remote_write[0]: headers: x-PROMETHEUS-remote-write-version is a reserved header"},
	{"remote_write_header_authorization.bad.yml", "remote_write[0]: headers: authorization must be set with basic_auth, authorization or oauth2"},
	{"remote_write_remote_timeout_zero.bad.yml", "remote_write[0]: remote_timeout must be positive"},
	{"remote_write_protobuf_message.bad.yml", `remote_write[0]: protobuf_message "io.prometheus.writet.v2.Request" is unknown (supported: prometheus.WriteRequest, io.prometheus.write.v2.Request)`},
	{"remote_write_protobuf_message_version.bad.yml", `remote_write[0]: protobuf_message "2.0" is unknown`},
	{"remote_write_queue_capacity.bad.yml", "remote_write[0]: queue_config: capacity must be positive"},
	{"remote_write_queue_max_samples_per_send.bad.yml", "remote_write[0]: queue_config: max_samples_per_send must be positive"},
	{"remote_write_queue_max_shards.bad.yml", "remote_write[0]: queue_config: max_shards must be positive"},
	{"remote_write_queue_batch_send_deadline.bad.yml", "remote_write[0]: queue_config: batch_send_deadline must be positive"},
	{"remote_write_queue_max_shards_huge.bad.yml", "remote_write[0]: queue_config: max_shards 1000000 must be at most 1000"},
	{"remote_write_queue_capacity_huge.bad.yml", "remote_write[0]: queue_config: capacity 1000000000 must be at most 10000000"},
	{"remote_write_queue_max_samples_per_send_huge.bad.yml", "remote_write[0]: queue_config: max_samples_per_send 5000000 must be at most 100000"},
	{"remote_write_queue_batch_send_deadline_short.bad.yml", "remote_write[0]: queue_config: batch_send_deadline 1ms must be at least 10ms"},
	{"remote_write_queue_max_backoff_long.bad.yml", "remote_write[0]: queue_config: max_backoff 1d must be at most 1h0m0s"},
	{"storage_snapshot_interval_short.bad.yml", "storage: snapshot_interval 1ms must be 0s (off) or at least 100ms"},
	{"remote_write_queue_min_backoff.bad.yml", "remote_write[0]: queue_config: min_backoff must be positive"},
	{"remote_write_queue_max_backoff.bad.yml", "remote_write[0]: queue_config: max_backoff must not be less than min_backoff"},
	{"remote_write_name_duplicate.bad.yml", `remote_write[1]: duplicate name "a"`},
	{"remote_write_auth_conflict.bad.yml", "remote_write[0]: at most one of basic_auth, oauth2 & authorization must be configured"},
	{"remote_write_second_entry.bad.yml", "remote_write[1]: remote_timeout must be positive"},

	// remote_read_server.
	{"remote_read_server_max_queries.bad.yml", "remote_read_server: max_queries 20000 must be between 1 and 10000"},
	{"remote_read_server_max_concurrent_zero.bad.yml", "remote_read_server: max_concurrent_requests 0 must be between 1 and 1000"},

	// limits.
	{"limits_max_series_zero.bad.yml", "limits: max_series must be positive"},
	{"limits_max_request_bytes_huge.bad.yml", "limits: max_request_bytes 4294967296 must be at most 1073741824"},
	{"limits_max_inflight_requests_huge.bad.yml", "limits: max_inflight_requests 1000000 must be at most 10000"},
	{"limits_max_request_bytes_small.bad.yml", "limits: max_request_bytes must be at least 1024"},
	{"limits_negative.bad.yml", "limits: max_label_value_length must not be negative"},
	{"tenancy_header_invalid.bad.yml", `tenancy: header "X Scope" is not a valid HTTP header name`},
	{"tenancy_header_empty.bad.yml", "tenancy: header must be set"},
	{"limits_max_memory_small.bad.yml", "limits: max_memory_bytes must be at least 64MiB"},

	// output.
	{"output_suffix_empty.bad.yml", "output: forecast_suffix must not be empty"},
	{"output_suffix_invalid.bad.yml", `output: anomaly_score_suffix "-score" does not form a valid metric name`},
	{"output_suffix_collision.bad.yml", `output: anomaly_suffix and forecast_suffix are both "_forecast"`},
	{"output_label_invalid.bad.yml", `output: model_label "1model" is not a valid label name`},
	{"output_label_name.bad.yml", `output: value_type_label "__name__" is not a valid label name`},
	{"output_label_empty.bad.yml", `output: horizon_label "" is not a valid label name`},
	{"output_label_collision.bad.yml", `output: horizon_label and model_label are both "model"`},
}

func TestBadConfigs(t *testing.T) {
	for _, ee := range expectedErrors {
		t.Run(ee.filename, func(t *testing.T) {
			filename := filepath.Join("testdata", ee.filename)
			cfg, err := LoadFile(filename)
			require.ErrorContains(t, err, ee.errMsg)
			require.ErrorContains(t, err, "parse config file "+filename)
			require.Nil(t, cfg)

			// Load gives the same error without the file name.
			content, err := os.ReadFile(filename)
			require.NoError(t, err)
			_, err = Load(string(content))
			require.ErrorContains(t, err, ee.errMsg)
		})
	}
}

// TestBadConfigsAllListed keeps expectedErrors and testdata in step: every
// bad file is checked, and every listed file exists.
func TestBadConfigsAllListed(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bad.yml")
	require.NoError(t, err)
	var onDisk, listed []string
	for _, f := range files {
		onDisk = append(onDisk, filepath.Base(f))
	}
	for _, ee := range expectedErrors {
		listed = append(listed, ee.filename)
	}
	slices.Sort(listed)
	require.Equal(t, onDisk, listed)
	require.Len(t, slices.Compact(listed), len(expectedErrors), "a file is listed twice")
}

func TestGoodConfigs(t *testing.T) {
	files, err := filepath.Glob("testdata/*.good.yml")
	require.NoError(t, err)
	files = append(files, exampleFile)
	require.Greater(t, len(files), 5)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := LoadFile(f)
			require.NoError(t, err)
			require.NotNil(t, cfg)
		})
	}
}

func TestIssueExample(t *testing.T) {
	cfg, err := LoadFile("testdata/issue_example.good.yml")
	require.NoError(t, err)

	require.Equal(t, model.Duration(time.Minute), cfg.Global.Step)
	require.Equal(t, model.Duration(7*24*time.Hour), cfg.Global.Window)
	require.Equal(t, model.Duration(15*time.Minute), cfg.Global.RetrainInterval)
	require.Equal(t, model.Duration(time.Hour), cfg.Global.MinHistory)
	require.Empty(t, cfg.Global.ExternalLabels)

	require.Len(t, cfg.Forecasts, 1)
	f := cfg.Forecasts[0]
	require.Equal(t, "node", f.Name)
	require.Equal(t, []string{"node_load1", `{__name__=~"http_requests:rate5m"}`}, f.Match)
	require.Len(t, f.Matchers, 2)
	require.Equal(t, "last", f.Aggregate)
	require.Equal(t, []string{"fourier", "seasonal_naive"}, f.Models)
	require.Equal(t, 0.95, f.IntervalWidth)
	require.Equal(t, []model.Duration{0, model.Duration(time.Hour)}, f.Horizons)
	require.Equal(t, 7*24*60, f.Capacity())

	require.Len(t, cfg.RemoteWrite, 1)
	rw := cfg.RemoteWrite[0]
	require.Equal(t, "http://localhost:9090/api/v1/write", rw.URL.String())
	require.Equal(t, "0", rw.Name)
	require.Equal(t, QueueConfig{
		Capacity:          10000,
		MaxSamplesPerSend: 2000,
		BatchSendDeadline: model.Duration(5 * time.Second),
		MinBackoff:        model.Duration(30 * time.Millisecond),
		MaxBackoff:        model.Duration(5 * time.Second),
		MaxShards:         4,
		RetryOnRateLimit:  true, // Not in the file: the default.
		MaxSampleAge:      model.Duration(time.Hour),
		MaxBytes:          64 << 20,
	}, rw.QueueConfig)

	require.Equal(t, LimitsConfig{MaxSeries: 100000, MaxRequestBytes: 32 << 20, MaxSeriesPerRequest: 50000,
		MaxLabelsPerSeries: 128, MaxLabelNameLength: 1024, MaxLabelValueLength: 4096, MaxInflightRequests: 64}, cfg.Limits)
}

func TestExampleFile(t *testing.T) {
	cfg, err := LoadFile(exampleFile)
	require.NoError(t, err)
	var names []string
	for _, f := range cfg.Forecasts {
		names = append(names, f.Name)
	}
	require.Equal(t, []string{"prometheus", "node"}, names)
	require.Equal(t, "mean", cfg.Forecasts[1].Aggregate)
	// Not set on the entry: inherited from global.
	require.Equal(t, DefaultGlobalConfig.Horizons, cfg.Forecasts[1].Horizons)
	require.Len(t, cfg.RemoteWrite, 1)
}

// TestDefaultValues pins the documented defaults, so that changing one is a
// conscious decision.
func TestDefaultValues(t *testing.T) {
	require.Equal(t, GlobalConfig{
		Step:             model.Duration(time.Minute),
		Window:           model.Duration(7 * 24 * time.Hour),
		RetrainInterval:  model.Duration(15 * time.Minute),
		MinHistory:       model.Duration(time.Hour),
		EvaluationDelay:  model.Duration(10 * time.Second),
		Staleness:        model.Duration(5 * time.Minute),
		Aggregate:        "last",
		Transform:        "auto",
		Models:           []string{"auto"},
		IntervalWidth:    0.95,
		Horizons:         []model.Duration{0},
		AnomalyThreshold: 1,
		Anomaly:          AnomalyConfig{Direction: "both"},
	}, DefaultGlobalConfig)
	require.Equal(t, LimitsConfig{MaxSeries: 100000, MaxRequestBytes: 32 << 20, MaxSeriesPerRequest: 50000,
		MaxLabelsPerSeries: 128, MaxLabelNameLength: 1024, MaxLabelValueLength: 4096, MaxInflightRequests: 64}, DefaultLimitsConfig)
	require.Equal(t, OutputConfig{
		ForecastSuffix:     "_forecast",
		AnomalyScoreSuffix: "_anomaly_score",
		AnomalySuffix:      "_anomaly",
		ModelLabel:         "model",
		ValueTypeLabel:     "value_type",
		HorizonLabel:       "horizon",
	}, DefaultOutputConfig)
	require.Equal(t, QueueConfig{
		Capacity:          100000,
		MaxSamplesPerSend: 2000,
		BatchSendDeadline: model.Duration(5 * time.Second),
		MinBackoff:        model.Duration(30 * time.Millisecond),
		MaxBackoff:        model.Duration(5 * time.Second),
		MaxShards:         4,
		RetryOnRateLimit:  true,
		MaxSampleAge:      model.Duration(time.Hour),
		MaxBytes:          64 << 20,
	}, DefaultQueueConfig)
	require.Equal(t, model.Duration(30*time.Second), DefaultRemoteWriteConfig.RemoteTimeout)
	require.Equal(t, ProtobufMessage("prometheus.WriteRequest"), DefaultRemoteWriteConfig.ProtobufMessage)
	require.Equal(t, DefaultQueueConfig, DefaultRemoteWriteConfig.QueueConfig)

	// The defaults themselves are valid.
	for name, validate := range map[string]func() error{
		"global": func() error { g := DefaultGlobalConfig; return g.Validate() },
		"limits": func() error { l := DefaultLimitsConfig; return l.Validate() },
		"output": func() error { o := DefaultOutputConfig; return o.Validate() },
		"queue":  func() error { q := DefaultQueueConfig; return q.Validate() },
	} {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, validate())
		})
	}
}

// TestEmptyConfigRefused: a configuration without a document is an error
// for check config, start and reload alike (they all load through
// LoadFile); "{}" asks for the defaults.
func TestEmptyConfigRefused(t *testing.T) {
	for _, tc := range []struct{ name, text string }{
		{"zero bytes", ""},
		{"blank lines", "\n  \n\n"},
		{"comments only", "# forecasts:\n#   - name: x\n"},
		{"null document", "null\n"},
		{"tilde document", "~\n"},
		{"document marker only", "---\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.text)
			require.ErrorIs(t, err, ErrEmptyConfig)
			filename := filepath.Join(t.TempDir(), "config.yml")
			require.NoError(t, os.WriteFile(filename, []byte(tc.text), 0o600))
			_, err = LoadFile(filename)
			require.ErrorIs(t, err, ErrEmptyConfig)
			require.ErrorContains(t, err, "parse config file "+filename)
		})
	}
}

func TestDefaultsFilled(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		forecasts  int
	}{
		{name: "empty mapping", text: "{}\n"},
		{name: "required fields only", text: readTestdata(t, "defaults.good.yml"), forecasts: 1},
		// Regression: "global:" with every key commented out used to zero
		// the section and fail with "global: step must be positive".
		{name: "empty sections", text: readTestdata(t, "empty_sections.good.yml"), forecasts: 1},
		{name: "explicitly null sections", text: "global: ~\nlimits: null\noutput:\nforecasts: ~\nremote_write:\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load(tc.text)
			require.NoError(t, err)
			require.Equal(t, DefaultGlobalConfig, cfg.Global)
			require.Equal(t, DefaultLimitsConfig, cfg.Limits)
			require.Equal(t, DefaultOutputConfig, cfg.Output)
			require.Len(t, cfg.Forecasts, tc.forecasts)
			for _, f := range cfg.Forecasts {
				require.Equal(t, DefaultGlobalConfig.Step, f.Step)
				require.Equal(t, DefaultGlobalConfig.Window, f.Window)
				require.Equal(t, DefaultGlobalConfig.RetrainInterval, f.RetrainInterval)
				require.Equal(t, DefaultGlobalConfig.MinHistory, f.MinHistory)
				require.Equal(t, DefaultGlobalConfig.Aggregate, f.Aggregate)
				require.Equal(t, DefaultGlobalConfig.Models, f.Models)
				require.Equal(t, DefaultGlobalConfig.IntervalWidth, f.IntervalWidth)
				require.Equal(t, DefaultGlobalConfig.Horizons, f.Horizons)
				require.Equal(t, DefaultGlobalConfig.AnomalyThreshold, f.AnomalyThreshold)
				require.Zero(t, f.SeasonalPeriod)
			}
			for _, rw := range cfg.RemoteWrite {
				require.Equal(t, "0", rw.Name)
				require.Equal(t, DefaultRemoteWriteConfig.RemoteTimeout, rw.RemoteTimeout)
				require.Equal(t, DefaultQueueConfig, rw.QueueConfig)
				require.True(t, rw.HTTPClientConfig.FollowRedirects)
				require.True(t, rw.HTTPClientConfig.EnableHTTP2)
			}
		})
	}
}

func TestForecastOverrides(t *testing.T) {
	cfg, err := LoadFile("testdata/overrides.good.yml")
	require.NoError(t, err)

	global := GlobalConfig{
		Step:             model.Duration(30 * time.Second),
		Window:           model.Duration(48 * time.Hour),
		RetrainInterval:  model.Duration(10 * time.Minute),
		MinHistory:       model.Duration(2 * time.Hour),
		EvaluationDelay:  model.Duration(5 * time.Second),
		Staleness:        model.Duration(10 * time.Minute),
		ExternalLabels:   map[string]string{"replica": "a", "cluster": "eu1"},
		Aggregate:        "mean",
		Transform:        "rate",
		Models:           []string{"fourier"},
		IntervalWidth:    0.8,
		Horizons:         []model.Duration{0, model.Duration(30 * time.Minute)},
		AnomalyThreshold: 2,
		Anomaly:          AnomalyConfig{Direction: "both"},
	}
	require.Equal(t, global, cfg.Global)

	for _, tc := range []struct {
		name string
		want ForecastConfig
	}{
		{
			name: "inherit",
			want: ForecastConfig{
				Step:             global.Step,
				Window:           global.Window,
				RetrainInterval:  global.RetrainInterval,
				MinHistory:       global.MinHistory,
				Aggregate:        global.Aggregate,
				Transform:        global.Transform,
				Models:           global.Models,
				IntervalWidth:    global.IntervalWidth,
				Horizons:         global.Horizons,
				AnomalyThreshold: global.AnomalyThreshold,
				Anomaly:          global.Anomaly,
			},
		},
		{
			name: "override",
			want: ForecastConfig{
				Step:             model.Duration(5 * time.Minute),
				Window:           model.Duration(14 * 24 * time.Hour),
				RetrainInterval:  model.Duration(time.Hour),
				MinHistory:       model.Duration(24 * time.Hour),
				Aggregate:        "max",
				Transform:        "none",
				Models:           []string{"seasonal_naive", "fourier"},
				IntervalWidth:    0.5,
				Horizons:         []model.Duration{0, model.Duration(time.Hour), model.Duration(24 * time.Hour)},
				AnomalyThreshold: 3.5,
				SeasonalPeriod:   model.Duration(24 * time.Hour),
				Anomaly:          global.Anomaly,
			},
		},
		{
			// Fields not written inherit; the explicit min_history: 0s
			// is honoured (it used to inherit 2h).
			name: "partial",
			want: ForecastConfig{
				Step:             model.Duration(time.Minute),
				Window:           global.Window,
				RetrainInterval:  global.RetrainInterval,
				MinHistory:       0,
				Aggregate:        global.Aggregate,
				Transform:        global.Transform,
				Models:           []string{"seasonal_naive"},
				IntervalWidth:    global.IntervalWidth,
				Horizons:         global.Horizons,
				AnomalyThreshold: global.AnomalyThreshold,
				Anomaly:          global.Anomaly,
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i := slices.IndexFunc(cfg.Forecasts, func(f *ForecastConfig) bool { return f.Name == tc.name })
			require.GreaterOrEqual(t, i, 0)
			got := *cfg.Forecasts[i]
			require.Len(t, got.Matchers, 1)
			got.Name, got.Match, got.Matchers, got.set = "", nil, nil, nil
			require.Equal(t, tc.want, got)
		})
	}

	// Inherited slices are copies: changing an entry leaves global alone.
	cfg.Forecasts[0].Models[0] = "changed"
	cfg.Forecasts[0].Horizons[0] = 1
	require.Equal(t, global.Models, cfg.Global.Models)
	require.Equal(t, global.Horizons, cfg.Global.Horizons)

	require.Equal(t, OutputConfig{
		ForecastSuffix:     ":predicted",
		AnomalyScoreSuffix: ":score",
		AnomalySuffix:      ":anomalous",
		ModelLabel:         "algo",
		ValueTypeLabel:     "kind",
		HorizonLabel:       "ahead",
	}, cfg.Output)
	wantLimits := DefaultLimitsConfig
	wantLimits.MaxSeries, wantLimits.MaxRequestBytes = 5, 1024
	require.Equal(t, wantLimits, cfg.Limits)
}

func TestAnomalyFields(t *testing.T) {
	cfg, err := LoadFile("testdata/anomaly.good.yml")
	require.NoError(t, err)
	half := 0.5
	require.Equal(t, AnomalyConfig{MinDeviation: &half, Direction: "up"}, cfg.Global.Anomaly)
	want := map[string]struct {
		minDev    float64
		direction string
	}{
		"inherit":  {0.5, "up"},
		"override": {2, "down"},
		"zero":     {0, "both"},
	}
	require.Len(t, cfg.Forecasts, len(want))
	for _, f := range cfg.Forecasts {
		require.Equal(t, want[f.Name].minDev, f.Anomaly.MinDeviationValue(), f.Name)
		require.NotNil(t, f.Anomaly.MinDeviation, "%s: resolved", f.Name)
		require.Equal(t, want[f.Name].direction, f.Anomaly.Direction, f.Name)
		require.Equal(t, 1.5, f.AnomalyThreshold)
	}
	// An inherited value is a copy.
	*cfg.Forecasts[0].Anomaly.MinDeviation = 9
	require.Equal(t, 0.5, cfg.Global.Anomaly.MinDeviationValue())

	// Unset everywhere: 0 and both.
	cfg, err = LoadFile("testdata/defaults.good.yml")
	require.NoError(t, err)
	require.Zero(t, cfg.Forecasts[0].Anomaly.MinDeviationValue())
	require.Equal(t, "both", cfg.Forecasts[0].Anomaly.Direction)
	require.Equal(t, []string{"auto"}, cfg.Forecasts[0].Models)
}

func TestSelects(t *testing.T) {
	cfg, err := LoadFile("testdata/selectors.good.yml")
	require.NoError(t, err)
	entries := map[string]*ForecastConfig{}
	for _, f := range cfg.Forecasts {
		entries[f.Name] = f
	}

	for _, tc := range []struct {
		entry string
		lset  labels.Labels
		want  bool
	}{
		{"node", labels.FromStrings("__name__", "node_load1", "instance", "a:9100"), true},
		{"node", labels.FromStrings("__name__", "http_requests:rate5m", "job", "api"), true},
		// Regular expressions are anchored.
		{"node", labels.FromStrings("__name__", "http_requests:rate5m_total"), false},
		{"node", labels.FromStrings("__name__", "node_load15"), false},
		{"node", labels.FromStrings("instance", "a:9100"), false},
		{"node", labels.EmptyLabels(), false},

		// All matchers of one selector must hold.
		{"goroutines", labels.FromStrings("__name__", "go_goroutines", "job", "prometheus"), true},
		{"goroutines", labels.FromStrings("__name__", "go_goroutines", "job", "node"), false},
		{"goroutines", labels.FromStrings("__name__", "go_goroutines"), false},

		// A negative matcher holds for a missing label.
		{"not_job", labels.FromStrings("__name__", "up", "job", "api"), true},
		{"not_job", labels.FromStrings("__name__", "up"), true},
		{"not_job", labels.FromStrings("__name__", "up", "job", "node"), false},

		{"by_label", labels.FromStrings("__name__", "a", "job", "web", "env", "prod"), true},
		{"by_label", labels.FromStrings("__name__", "b", "job", "api"), true},
		{"by_label", labels.FromStrings("__name__", "a", "job", "web", "env", "dev-1"), false},
		{"by_label", labels.FromStrings("__name__", "a", "job", "apis"), false},

		// Buckets of classic histograms need a selector that asks for them.
		{"by_label", labels.FromStrings("__name__", "http_request_duration_seconds_bucket", "job", "api", "le", "0.5"), false},
		{"by_label", labels.FromStrings("__name__", "http_request_duration_seconds_count", "job", "api"), true},
		{"by_label", labels.FromStrings("__name__", "job:http_request_duration_seconds:rate5m", "job", "api", "le", "0.5"), false},
		{"everything", labels.FromStrings("__name__", "http_request_duration_seconds_bucket", "le", "0.5"), false},
		{"everything", labels.FromStrings("__name__", "odd_bucket"), false},
		{"everything", labels.FromStrings("__name__", "http_request_duration_seconds_sum"), true},
		{"bucket_by_name", labels.FromStrings("__name__", "http_request_duration_seconds_bucket", "le", "0.5"), true},
		{"buckets_by_regex", labels.FromStrings("__name__", "http_request_duration_seconds_bucket", "job", "api", "le", "+Inf"), true},
		{"buckets_by_regex", labels.FromStrings("__name__", "http_request_duration_seconds_bucket", "job", "web", "le", "+Inf"), false},
		{"buckets_by_le", labels.FromStrings("__name__", "job:http_request_duration_seconds:rate5m", "job", "api", "le", "0.5"), true},
		{"buckets_by_le", labels.FromStrings("__name__", "up", "job", "api"), false},
	} {
		t.Run(tc.entry+tc.lset.String(), func(t *testing.T) {
			f := entries[tc.entry]
			require.NotNil(t, f)
			require.Equal(t, tc.want, f.Selects(tc.lset))
		})
	}
}

func TestRemoteWriteNames(t *testing.T) {
	cfg, err := LoadFile("testdata/remote_write_names.good.yml")
	require.NoError(t, err)
	var names []string
	for _, rw := range cfg.RemoteWrite {
		names = append(names, rw.Name)
	}
	// Unnamed entries are named after their index.
	require.Equal(t, []string{"0", "primary", "2"}, names)
	require.Equal(t, ProtobufMessageV1, cfg.RemoteWrite[0].ProtobufMessage, "the default")
	require.Equal(t, ProtobufMessageV2, cfg.RemoteWrite[1].ProtobufMessage)
	require.Equal(t, ProtobufMessageV1, cfg.RemoteWrite[2].ProtobufMessage)

	rw := cfg.RemoteWrite[2]
	require.Equal(t, model.Duration(time.Minute), rw.RemoteTimeout)
	require.Equal(t, map[string]string{"X-Scope-OrgID": "tenant1"}, rw.Headers)
	want := DefaultQueueConfig
	want.RetryOnRateLimit = false
	want.MaxShards = 1
	require.Equal(t, want, rw.QueueConfig)
}

func TestHash(t *testing.T) {
	example := readTestdata(t, "issue_example.good.yml")
	other := readTestdata(t, "overrides.good.yml")
	for _, tc := range []struct {
		name  string
		a, b  string
		equal bool
	}{
		{name: "same text", a: example, b: example, equal: true},
		{name: "different files", a: example, b: other, equal: false},
		{name: "empty and example", a: "{}", b: example, equal: false},
		// The hash is of the text: a comment is a change a reload reports.
		{name: "added comment", a: example, b: example + "# comment\n", equal: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Load(tc.a)
			require.NoError(t, err)
			b, err := Load(tc.b)
			require.NoError(t, err)
			require.Len(t, a.Hash(), 64)
			if tc.equal {
				require.Equal(t, a.Hash(), b.Hash())
			} else {
				require.NotEqual(t, a.Hash(), b.Hash())
			}
		})
	}

	t.Run("LoadFile and Load", func(t *testing.T) {
		fromFile, err := LoadFile("testdata/issue_example.good.yml")
		require.NoError(t, err)
		fromText, err := Load(example)
		require.NoError(t, err)
		require.Equal(t, fromText.Hash(), fromFile.Hash())
	})
}

func TestLoadFileSetDirectory(t *testing.T) {
	abs, err := filepath.Abs("testdata/tls.good.yml")
	require.NoError(t, err)
	for _, tc := range []struct {
		name, file, dir string
	}{
		{name: "relative file", file: "testdata/tls.good.yml", dir: "testdata"},
		{name: "absolute file", file: abs, dir: filepath.Dir(abs)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := LoadFile(tc.file)
			require.NoError(t, err)
			require.Len(t, cfg.RemoteWrite, 1)
			hc := cfg.RemoteWrite[0].HTTPClientConfig
			require.Equal(t, filepath.Join(tc.dir, "ca.pem"), hc.TLSConfig.CAFile)
			require.Equal(t, filepath.Join(tc.dir, "certs", "client.pem"), hc.TLSConfig.CertFile)
			// Absolute paths are kept.
			require.Equal(t, "/etc/train-prometheus/client.key", hc.TLSConfig.KeyFile)
			require.NotNil(t, hc.BasicAuth)
			require.Equal(t, filepath.Join(tc.dir, "secrets", "password"), hc.BasicAuth.PasswordFile)
		})
	}

	t.Run("Load keeps paths as written", func(t *testing.T) {
		cfg, err := Load(readTestdata(t, "tls.good.yml"))
		require.NoError(t, err)
		require.Equal(t, "ca.pem", cfg.RemoteWrite[0].HTTPClientConfig.TLSConfig.CAFile)
	})
}

func TestSecretsNotMarshalled(t *testing.T) {
	cfg, err := LoadFile("testdata/secrets.good.yml")
	require.NoError(t, err)
	out, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	text := string(out)

	for _, secret := range []string{
		"url-password-hunter2",
		"basic-password-hunter2",
		"bearer-token-hunter2",
		"legacy-token-hunter2",
	} {
		t.Run(secret, func(t *testing.T) {
			require.NotContains(t, text, secret)
		})
	}
	require.Contains(t, text, "<secret>")
	// The rest is still there.
	require.Contains(t, text, "username: user")
	require.Contains(t, text, "https://localhost:9090/api/v1/write")

	// The secrets are still usable in memory.
	require.Equal(t, "basic-password-hunter2", string(cfg.RemoteWrite[1].HTTPClientConfig.BasicAuth.Password))
	require.Equal(t, "bearer-token-hunter2", string(cfg.RemoteWrite[2].HTTPClientConfig.Authorization.Credentials))
	// bearer_token is moved to authorization, as Prometheus does.
	require.Equal(t, "legacy-token-hunter2", string(cfg.RemoteWrite[3].HTTPClientConfig.Authorization.Credentials))
}

func TestLoadFileErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file, errMsg string
	}{
		{name: "missing file", file: "testdata/does-not-exist.yml", errMsg: "read config file"},
		{name: "directory", file: "testdata", errMsg: "read config file"},
		{name: "bad file", file: "testdata/global_step_zero.bad.yml", errMsg: "parse config file testdata/global_step_zero.bad.yml: global: step must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := LoadFile(tc.file)
			require.ErrorContains(t, err, tc.errMsg)
			require.Nil(t, cfg)
		})
	}
}

// validConfig is a valid, already decoded configuration that the cases of
// TestValidate change in ways YAML cannot express (negative durations,
// sub-millisecond steps, invalid UTF-8).
func validConfig() *Config {
	g := DefaultGlobalConfig
	g.Models = slices.Clone(g.Models)
	g.Horizons = slices.Clone(g.Horizons)
	rw := DefaultRemoteWriteConfig
	u, err := url.Parse("http://localhost:9090/api/v1/write")
	if err != nil {
		panic(err)
	}
	rw.URL = &commonconfig.URL{URL: u}
	return &Config{
		Global:      g,
		Forecasts:   []*ForecastConfig{{Name: "node", Match: []string{"node_load1"}}},
		RemoteWrite: []*RemoteWriteConfig{&rw},
		Limits:      DefaultLimitsConfig,
		Output:      DefaultOutputConfig,
	}
}

func TestValidate(t *testing.T) {
	neg := func(d time.Duration) model.Duration { return model.Duration(-d) }
	for _, tc := range []struct {
		name   string
		change func(c *Config)
		errMsg string // Empty: valid.
	}{
		{name: "unchanged", change: func(*Config) {}},
		{name: "forecast step negative", change: func(c *Config) { c.Forecasts[0].Step = neg(time.Minute) }, errMsg: "forecasts[0] (node): step must be positive"},
		{name: "forecast step sub-millisecond", change: func(c *Config) { c.Forecasts[0].Step = model.Duration(time.Minute + time.Microsecond) }, errMsg: "forecasts[0] (node): step 1m0.000001s must be a whole number of milliseconds"},
		{name: "global step sub-millisecond", change: func(c *Config) { c.Global.Step = model.Duration(time.Minute + time.Microsecond) }, errMsg: "global: step 1m0.000001s must be a whole number of milliseconds"},
		{name: "forecast retrain_interval negative", change: func(c *Config) { c.Forecasts[0].RetrainInterval = neg(time.Minute) }, errMsg: "forecasts[0] (node): retrain_interval must be positive"},
		{name: "forecast min_history negative", change: func(c *Config) { c.Forecasts[0].MinHistory = neg(time.Minute) }, errMsg: "forecasts[0] (node): min_history must not be negative"},
		{name: "global min_history negative", change: func(c *Config) { c.Global.MinHistory = neg(time.Minute) }, errMsg: "global: min_history must not be negative"},
		{name: "global evaluation_delay negative", change: func(c *Config) { c.Global.EvaluationDelay = neg(time.Second) }, errMsg: "global: evaluation_delay must not be negative"},
		{name: "global evaluation_delay zero", change: func(c *Config) { c.Global.EvaluationDelay = 0 }},
		{name: "forecast seasonal_period negative", change: func(c *Config) { c.Forecasts[0].SeasonalPeriod = neg(time.Hour) }, errMsg: "forecasts[0] (node): seasonal_period must not be negative"},
		{name: "forecast seasonal_period half window", change: func(c *Config) { c.Forecasts[0].SeasonalPeriod = c.Global.Window / 2 }},
		{name: "forecast horizon negative", change: func(c *Config) { c.Forecasts[0].Horizons = []model.Duration{0, neg(time.Hour)} }, errMsg: "forecasts[0] (node): horizons: -1h must not be negative"},
		{name: "global horizon negative", change: func(c *Config) { c.Global.Horizons = []model.Duration{neg(time.Hour)} }, errMsg: "global: horizons: -1h must not be negative"},
		{name: "forecast anomaly_threshold +Inf", change: func(c *Config) { c.Forecasts[0].AnomalyThreshold = math.Inf(1) }},
		{name: "forecast interval_width -Inf", change: func(c *Config) { c.Forecasts[0].IntervalWidth = math.Inf(-1) }, errMsg: "forecasts[0] (node): interval_width -Inf must be between 0 and 1"},
		{name: "external label value not UTF-8", change: func(c *Config) { c.Global.ExternalLabels = map[string]string{"zone": "\xff"} }, errMsg: `global: external_labels: invalid value for label "zone"`},
		{name: "external label empty name", change: func(c *Config) { c.Global.ExternalLabels = map[string]string{"": "a"} }, errMsg: `global: external_labels: invalid label name ""`},
		{name: "nil forecast", change: func(c *Config) { c.Forecasts = append(c.Forecasts, nil) }, errMsg: "forecasts[1]: empty entry"},
		{name: "nil remote_write", change: func(c *Config) { c.RemoteWrite = append(c.RemoteWrite, nil) }, errMsg: "remote_write[1]: empty entry"},
		{name: "remote_write nil URL", change: func(c *Config) { c.RemoteWrite[0].URL = nil }, errMsg: "remote_write[0]: url must be set"},
		{name: "remote_write negative remote_timeout", change: func(c *Config) { c.RemoteWrite[0].RemoteTimeout = neg(time.Second) }, errMsg: "remote_write[0]: remote_timeout must be positive"},
		{name: "queue max_backoff equal to min_backoff", change: func(c *Config) { c.RemoteWrite[0].QueueConfig.MaxBackoff = c.RemoteWrite[0].QueueConfig.MinBackoff }},
		{name: "limits max_request_bytes 1024", change: func(c *Config) { c.Limits.MaxRequestBytes = 1024 }},
		{name: "limits negative max_series", change: func(c *Config) { c.Limits.MaxSeries = -1 }, errMsg: "limits: max_series must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.change(c)
			err := c.Validate()
			if tc.errMsg == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.errMsg)
		})
	}
}

// TestOutputValidateDeterministic checks that with several problems the same
// one is reported every time (the fields used to be checked in map order).
func TestOutputValidateDeterministic(t *testing.T) {
	for _, tc := range []struct {
		name   string
		out    OutputConfig
		errMsg string
	}{
		{
			name:   "three equal suffixes",
			out:    OutputConfig{ForecastSuffix: "_a", AnomalyScoreSuffix: "_a", AnomalySuffix: "_a", ModelLabel: "m", ValueTypeLabel: "v", HorizonLabel: "h"},
			errMsg: `anomaly_score_suffix and forecast_suffix are both "_a"`,
		},
		{
			name:   "three equal labels",
			out:    OutputConfig{ForecastSuffix: "_a", AnomalyScoreSuffix: "_b", AnomalySuffix: "_c", ModelLabel: "m", ValueTypeLabel: "m", HorizonLabel: "m"},
			errMsg: `value_type_label and model_label are both "m"`,
		},
		{
			name:   "everything empty",
			out:    OutputConfig{},
			errMsg: "forecast_suffix must not be empty",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 50 {
				out := tc.out
				err := out.Validate()
				require.Error(t, err)
				require.Equal(t, tc.errMsg, err.Error())
			}
		})
	}
}

// TestValidateIdempotent checks that validating a loaded configuration again
// succeeds and changes nothing (the engine may validate what Load returned).
func TestValidateIdempotent(t *testing.T) {
	files, err := filepath.Glob("testdata/*.good.yml")
	require.NoError(t, err)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, err := LoadFile(f)
			require.NoError(t, err)
			before, err := yaml.Marshal(cfg)
			require.NoError(t, err)
			require.NoError(t, cfg.Validate())
			after, err := yaml.Marshal(cfg)
			require.NoError(t, err)
			require.Equal(t, string(before), string(after))
		})
	}
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return string(b)
}

func TestMaxBufferBytes(t *testing.T) {
	cfg, err := Load(`
limits: {max_series: 1000}
forecasts:
  - {name: a, match: [up], step: 1m, window: 1d}
  - {name: b, match: [down], step: 5m, window: 7d}
`)
	require.NoError(t, err)
	// Entry a holds 1d/1m = 1440 cells, entry b 7d/5m = 2016: b is the largest.
	require.Equal(t, int64(1000*2016*8), cfg.MaxBufferBytes())
	empty, err := Load("{}")
	require.NoError(t, err)
	require.Zero(t, empty.MaxBufferBytes())
}
