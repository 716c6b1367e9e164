package receive

import (
	"encoding/binary"
	"sync"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// writeRequest is a decoded remote-write request, 1.0 or 2.0, in the form
// the handler needs: flat slices that are reused from request to request
// (see requestPool), and strings that alias buf.
//
// Ownership: every string of a writeRequest points into buf. They are valid
// until the request is put back into the pool; whatever outlives the
// request (a new series' labels, a metric family name, an error message)
// must be copied.
type writeRequest struct {
	body []byte // the snappy-encoded body as read
	buf  []byte // the decoded protobuf message

	series  []wireSeries
	labels  []wireLabel
	samples []wireSample
	// refs are the label references of 2.0 series, resolved into labels
	// once the symbols are known.
	refs    []uint32
	symbols []string // 2.0 only

	// metadata are the metric families of a 1.0 request.
	metadata []familyType
	// unknown is set when a request held top-level fields its version does
	// not know (a 2.0 body sent as 1.0 holds nothing else, and the other way
	// round).
	unknown bool

	key    []byte   // scratch for route cache keys
	routes []lookup // per series: the cached route, if any

	histograms int // native histogram samples, all series
	exemplars  int // exemplars, all series
}

// wireSeries is one series of a request: ranges of the request's flat
// slices.
type wireSeries struct {
	// rawLo and rawHi bound the label fields of a 1.0 series in req.buf,
	// when they are contiguous (Prometheus writes them first): the
	// series' route-cache key, and the labels, decoded only on a cache
	// miss (see parseLabels).
	rawLo, rawHi int32
	rawKey       bool // the cache key is buf[rawLo:rawHi], not the parsed labels
	parsed       bool // labels holds the labels

	labelsLo, labelsHi   int32 // req.labels[labelsLo:labelsHi]
	samplesLo, samplesHi int32 // req.samples[samplesLo:samplesHi]
	refsLo, refsHi       int32 // req.refs[refsLo:refsHi] (2.0)
	histograms           int32
	exemplars            int32
	typ                  ring.MetricType // declared by 2.0 metadata
	helpRef, unitRef     uint32          // 2.0 metadata, checked against the symbols
}

// wireLabel is one label; name and value alias the request's buffer.
type wireLabel struct{ name, value string }

// wireSample is one float sample.
type wireSample struct {
	t int64
	v float64
}

// familyType is the type a 1.0 metadata entry declares for a metric
// family; name aliases the request's buffer.
type familyType struct {
	name string
	typ  ring.MetricType
}

// maxPooledBytes bounds the buffers kept in the pool: a rare huge request
// must not pin its memory for ever.
const maxPooledBytes = 4 << 20

// requestPool recycles decoded requests: after the first few requests, the
// decode path allocates nothing per request. The zero value is ready.
type requestPool struct{ p sync.Pool }

// get returns an empty request.
func (rp *requestPool) get() *writeRequest {
	if req, ok := rp.p.Get().(*writeRequest); ok {
		return req
	}
	return new(writeRequest)
}

// put empties req and keeps it for a later request. No string of req may
// be used afterwards.
func (rp *requestPool) put(req *writeRequest) {
	if cap(req.buf) > maxPooledBytes || cap(req.body) > maxPooledBytes {
		return
	}
	req.reset()
	rp.p.Put(req)
}

// reset empties req, keeping its capacity. Strings are cleared so that the
// pool does not keep pointers into buffers it no longer needs.
func (req *writeRequest) reset() {
	req.body = req.body[:0]
	req.buf = req.buf[:0]
	req.series = req.series[:0]
	clear(req.routes)
	req.routes = req.routes[:0]
	clear(req.labels)
	req.labels = req.labels[:0]
	req.samples = req.samples[:0]
	req.refs = req.refs[:0]
	clear(req.symbols)
	req.symbols = req.symbols[:0]
	clear(req.metadata)
	req.metadata = req.metadata[:0]
	req.unknown = false
	req.histograms, req.exemplars = 0, 0
}

// seriesLabels returns the labels of s.
func (req *writeRequest) seriesLabels(s *wireSeries) []wireLabel {
	return req.labels[s.labelsLo:s.labelsHi]
}

// seriesSamples returns the samples of s.
func (req *writeRequest) seriesSamples(s *wireSeries) []wireSample {
	return req.samples[s.samplesLo:s.samplesHi]
}

// lookup is what the route cache knew of a series when the request came.
type lookup struct {
	route
	hit bool
}

// keyOf returns the route-cache key of s received for tenant: the raw
// label fields of a 1.0 series (prefixed by the tenant, if any), or its
// parsed labels. It may return req.key, reused by the next call.
func (req *writeRequest) keyOf(s *wireSeries, tenant string) []byte {
	if s.rawKey {
		raw := req.buf[s.rawLo:s.rawHi]
		if tenant == "" {
			return raw // starts with the tag of field 1: 0x0a
		}
		req.key = append(req.key[:0], 0)
		req.key = binary.AppendUvarint(req.key, uint64(len(tenant)))
		req.key = append(append(req.key, tenant...), raw...)
		return req.key
	}
	req.key = append(req.key[:0], 1)
	req.key = appendKey(req.key, tenant, req.seriesLabels(s))
	return req.key
}

// parseLabels decodes the labels of a 1.0 series whose decoding
// unmarshalV1 left for later, unless already done.
func (req *writeRequest) parseLabels(s *wireSeries) error {
	if s.parsed {
		return nil
	}
	return req.parseLabelFields(s, req.buf[:s.rawHi], int(s.rawLo))
}
