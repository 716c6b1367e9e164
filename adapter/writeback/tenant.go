package writeback

import (
	"sync/atomic"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

// Multi-tenancy: the receiver keeps the tenant of an incoming write with
// its series as config.TenantLabel, the engine carries every input label
// to the outputs, and the write-back turns the label back into the tenant
// header: one request per tenant, the label itself never sent. Tenants
// therefore never see each other's forecasts.

// defaultTenantHeader is used until SetTenantHeader says otherwise.
const defaultTenantHeader = "X-Scope-OrgID"

// tenantGroup is the part of a batch that belongs to one tenant, with the
// tenant label removed.
type tenantGroup struct {
	tenant  string
	samples []Sample
}

// hasTenants reports whether any sample of batch carries a tenant.
func hasTenants(batch []Sample) bool {
	for i := range batch {
		if batch[i].Labels.Get(config.TenantLabel) != "" {
			return true
		}
	}
	return false
}

// splitByTenant groups batch by tenant, in the order tenants first appear,
// keeping the order of samples within a group (a series belongs to one
// tenant, so its samples stay in order).
func splitByTenant(batch []Sample) []tenantGroup {
	var groups []tenantGroup
	index := map[string]int{}
	b := labels.NewBuilder(labels.EmptyLabels())
	for _, smp := range batch {
		tenant := smp.Labels.Get(config.TenantLabel)
		if tenant != "" {
			b.Reset(smp.Labels)
			b.Del(config.TenantLabel)
			smp.Labels = b.Labels()
		}
		i, ok := index[tenant]
		if !ok {
			i = len(groups)
			index[tenant] = i
			groups = append(groups, tenantGroup{tenant: tenant})
		}
		groups[i].samples = append(groups[i].samples, smp)
	}
	return groups
}

// tenantHeaderName returns the header that carries the tenant.
func (q *Queue) tenantHeaderName() string {
	if h := q.tenantHeader.Load(); h != nil && *h != "" {
		return *h
	}
	return defaultTenantHeader
}

// SetTenantHeader names the header that carries the tenant of forecasts
// written back (tenancy.header), for every queue of m, present and future.
func (m *Manager) SetTenantHeader(name string) {
	m.tenantHeader.Store(&name)
}

// tenantHeaderPtr is shared by a Manager and its queues.
type tenantHeaderPtr = atomic.Pointer[string]
