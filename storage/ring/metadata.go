package ring

import (
	"strings"
	"sync"

	"github.com/prometheus/common/model"
)

// MetricType is the type of a metric as Prometheus' metadata names it. The
// zero value is TypeUnknown.
type MetricType uint8

// The metric types of Prometheus' metadata (remote-write 1.0 MetricMetadata
// and 2.0 Metadata use the same set).
const (
	TypeUnknown MetricType = iota
	TypeCounter
	TypeGauge
	TypeHistogram
	TypeGaugeHistogram
	TypeSummary
	TypeInfo
	TypeStateset
	numTypes
)

var typeNames = [numTypes]string{"unknown", "counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset"}

// String returns the type as a `# TYPE` line writes it.
func (t MetricType) String() string {
	if t < numTypes {
		return typeNames[t]
	}
	return "unknown"
}

// ParseMetricType returns the type named s ("counter", "gauge", ...), or
// TypeUnknown for any other string.
func ParseMetricType(s string) MetricType {
	for i, n := range typeNames {
		if n == s {
			return MetricType(i)
		}
	}
	return TypeUnknown
}

// maxFamilies bounds the metric-family types a store remembers, so that a
// sender cannot grow the map without bound with metadata alone.
const maxFamilies = 1 << 16

// families holds the types of metric families declared by metadata that
// comes apart from the series (remote-write 1.0 metadata requests).
type families struct {
	mtx   sync.RWMutex
	types map[string]MetricType
}

func (f *families) set(name string, t MetricType) bool {
	f.mtx.RLock()
	cur, ok := f.types[name]
	f.mtx.RUnlock()
	if ok && cur == t {
		return false
	}
	f.mtx.Lock()
	defer f.mtx.Unlock()
	if f.types == nil {
		f.types = map[string]MetricType{}
	}
	if _, ok := f.types[name]; !ok && len(f.types) >= maxFamilies {
		return false
	}
	f.types[name] = t
	return true
}

func (f *families) get(name string) (MetricType, bool) {
	f.mtx.RLock()
	defer f.mtx.RUnlock()
	t, ok := f.types[name]
	return t, ok
}

// SetFamilyType records the type of the metric family name, as declared by
// a remote-write 1.0 metadata request. TypeUnknown is recorded too (an
// explicit "unknown" overrides a guess from the name). It reports whether
// the recorded type changed. At most 65,536 families are remembered; later
// new ones are ignored.
func (s *Store) SetFamilyType(name string, t MetricType) bool {
	return s.families.set(name, t)
}

// FamilyType returns the type recorded for the metric family name.
func (s *Store) FamilyType(name string) (MetricType, bool) {
	return s.families.get(name)
}

// SetType records the type of the series as its own metadata declares it
// (remote-write 2.0 sends it with every series). TypeUnknown is ignored, so
// that a sender that omits metadata does not erase what an earlier one
// declared.
func (s *Series) SetType(t MetricType) {
	if t == TypeUnknown || t >= numTypes {
		return
	}
	if MetricType(s.typ.Load()) != t {
		s.typ.Store(uint32(t))
	}
}

// Type returns the type of the series and where it comes from: "series"
// (declared with the series, remote-write 2.0), "family" (declared by a
// metadata request for its metric family, remote-write 1.0), "name" (the
// naming conventions of TypeFromName) or "" when nothing tells (then the
// type is TypeUnknown).
func (s *Series) Type() (MetricType, string) {
	if t := MetricType(s.typ.Load()); t != TypeUnknown {
		return t, "series"
	}
	name := s.lset.Get(model.MetricNameLabel)
	if s.store != nil {
		if t, ok := s.store.FamilyType(name); ok {
			return t, "family"
		}
		if fam := FamilyName(name); fam != name {
			if t, ok := s.store.FamilyType(fam); ok {
				return t, "family"
			}
		}
	}
	if t := TypeFromName(name); t != TypeUnknown {
		return t, "name"
	}
	return TypeUnknown, ""
}

// Suffixes of the series of one metric family, as the exposition formats
// name them.
var familySuffixes = []string{"_total", "_bucket", "_count", "_sum", "_created"}

// FamilyName returns the metric family a series name belongs to: the name
// without one of the suffixes _total, _bucket, _count, _sum or _created
// (OpenMetrics names families that way), or name itself.
func FamilyName(name string) string {
	for _, suf := range familySuffixes {
		if fam, ok := strings.CutSuffix(name, suf); ok && fam != "" {
			return fam
		}
	}
	return name
}

// TypeFromName guesses the type of a series from Prometheus' naming
// conventions when no metadata declares it: _total is a counter; _bucket,
// _count and _sum are parts of a histogram (or summary: _count and _sum
// behave the same), which are cumulative like counters; _created is a
// counter's creation timestamp, a gauge. Anything else is TypeUnknown.
func TypeFromName(name string) MetricType {
	switch {
	case strings.HasSuffix(name, "_total"):
		return TypeCounter
	case strings.HasSuffix(name, "_bucket"), strings.HasSuffix(name, "_count"), strings.HasSuffix(name, "_sum"):
		return TypeHistogram
	case strings.HasSuffix(name, "_created"):
		return TypeGauge
	}
	return TypeUnknown
}

// Cumulative reports whether a series of type t named name only grows
// between resets, so that its rate is what is worth forecasting: counters,
// and the _bucket, _count and _sum series of classic histograms and
// summaries (a summary's quantile series are gauges).
func Cumulative(name string, t MetricType) bool {
	switch t {
	case TypeCounter:
		return !strings.HasSuffix(name, "_created")
	case TypeHistogram, TypeSummary:
		return strings.HasSuffix(name, "_bucket") || strings.HasSuffix(name, "_count") || strings.HasSuffix(name, "_sum")
	}
	return false
}
