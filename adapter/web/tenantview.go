package web

import (
	"fmt"
	"net/http"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

// viewer is whose series a request to the status pages or /forecasts may
// see. With tenancy on, that is the tenant its header names, or, without
// the header, the series written without it; the remote-read server draws
// the same line. With tenancy off, every series.
type viewer struct {
	header string // the tenancy header; "" with tenancy off
	tenant string // the tenant the header names; "" without it
}

// viewerOf returns the viewer of r. A tenant ID Mimir would refuse is an
// error naming the header, answered 400 as reads and writes are.
func (u *UI) viewerOf(r *http.Request) (viewer, error) {
	cfg := u.src.Settings.Config()
	if cfg == nil || !cfg.Tenancy.Enabled {
		return viewer{}, nil
	}
	v := viewer{header: cfg.Tenancy.Header, tenant: r.Header.Get(cfg.Tenancy.Header)}
	if err := config.ValidateTenant(v.tenant); err != nil {
		return viewer{}, fmt.Errorf("check %s header: %w", v.header, err)
	}
	return v, nil
}

// tenantScoped starts the answer to a tenant-scoped view: with tenancy on
// it marks the answer as varying with the tenant header, so that no cache
// hands one tenant's page to another, and it answers 400 for an invalid
// tenant ID. It reports whether to go on.
func (u *UI) tenantScoped(w http.ResponseWriter, r *http.Request) (viewer, bool) {
	v, err := u.viewerOf(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return viewer{}, false
	}
	if v.header != "" {
		w.Header().Add("Vary", v.header)
	}
	return v, true
}

// sees returns lset as v may see it, without the tenant label, and whether
// v may see it at all: with tenancy on, only a series whose tenant label
// (empty when absent) is v's tenant. The label is left out so that it can
// neither be shown nor searched for, as on remote read.
func (v viewer) sees(lset labels.Labels) (labels.Labels, bool) {
	if v.header == "" {
		return lset, true
	}
	own := lset.Get(config.TenantLabel)
	switch {
	case own != v.tenant:
		return labels.EmptyLabels(), false
	case own == "":
		return lset, true
	}
	return labels.NewBuilder(lset).Del(config.TenantLabel).Labels(), true
}

// describe names the view on the status pages: "" with tenancy off.
func (v viewer) describe() string {
	switch {
	case v.header == "":
		return ""
	case v.tenant == "":
		return fmt.Sprintf("no tenant: only the series written without the %s header", v.header)
	}
	return fmt.Sprintf("tenant %q (%s header)", v.tenant, v.header)
}
