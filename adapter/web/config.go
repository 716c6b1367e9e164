package web

import (
	"net/http"

	"go.yaml.in/yaml/v2"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

// targetRow is one write-back target on the config page.
type targetRow struct {
	Name, URL                      string
	Health, HealthClass            string
	Queued, Capacity               int
	FillPx                         int
	Sent, Failed, Dropped, Retried string
	LastSuccess                    string
	NewestSent                     string
	Protocol                       string
	LastError                      string // "" for none
}

// protocolName is how the config page names the remote-write protocol a
// target is sent.
func protocolName(msg config.ProtobufMessage, fellBack bool) string {
	switch {
	case fellBack:
		return "1.0 (refused 2.0 with 415)"
	case msg == config.ProtobufMessageV2:
		return "2.0"
	}
	return "1.0"
}

// Config shows the write-back targets' health and the loaded
// configuration, secrets hidden.
func (u *UI) Config(w http.ResponseWriter, _ *http.Request) {
	now := u.opts.Now()
	data := struct {
		page
		Targets []targetRow
		YAML    string
		Hash    string
		// Reload is how the last reload (SIGHUP, POST /-/reload) ended;
		// ReloadErr is set when it failed.
		Reload, ReloadErr string
	}{page: u.page("Config and targets", viewer{})}
	if r, ok := u.src.Settings.LastReload(); ok {
		data.Reload = "Last reload " + formatAge(now.Sub(r.At)) + " ago: "
		if r.Err != "" {
			data.Reload += "failed; the configuration below is the one still in force."
			data.ReloadErr = r.Err
		} else {
			data.Reload += "succeeded."
		}
	}
	if cfg := u.src.Settings.Config(); cfg != nil {
		// config.Secret marshals as <secret>, URLs without their password.
		out, err := yaml.Marshal(cfg)
		if err != nil {
			data.YAML = "marshal config: " + err.Error()
		} else {
			data.YAML = string(out)
		}
		data.Hash = cfg.Hash()[:12]
	} else {
		data.YAML = "(no configuration loaded yet)"
	}
	for _, t := range u.src.Targets.Status() {
		row := targetRow{
			Name: t.Name, URL: t.URL, Queued: t.Queued, Capacity: t.Capacity,
			Sent: formatValue(t.Sent), Failed: formatValue(t.Failed), Dropped: formatValue(t.Dropped), Retried: formatValue(t.Retried),
			LastSuccess: "never", NewestSent: "none",
			Protocol: protocolName(t.ProtobufMessage, t.FellBack),
		}
		if t.Capacity > 0 {
			row.FillPx = min(80, 80*t.Queued/t.Capacity)
		}
		if !t.LastSuccess.IsZero() {
			row.LastSuccess = formatAge(now.Sub(t.LastSuccess)) + " ago"
		}
		if !t.HighestSent.IsZero() {
			// The lag: samples are stamped within minutes of now.
			row.NewestSent = formatAge(now.Sub(t.HighestSent)) + " ago"
		}
		if t.LastError != "" {
			row.LastError = formatAge(now.Sub(t.LastErrorAt)) + " ago: " + t.LastError
		}
		// The counters tell about the past; health is about now.
		switch {
		case t.Capacity > 0 && t.Queued*10 >= t.Capacity*9:
			row.Health, row.HealthClass = "backlogged: queue nearly full", "err"
		case !t.LastSuccess.IsZero():
			row.Health, row.HealthClass = "up", "ok"
		case t.Queued > 0 || t.Retried > 0 || t.Failed > 0:
			row.Health, row.HealthClass = "no request accepted yet", "err"
		default:
			row.Health, row.HealthClass = "idle: nothing sent yet", "muted"
		}
		data.Targets = append(data.Targets, row)
	}
	u.render(w, "config", data)
}
