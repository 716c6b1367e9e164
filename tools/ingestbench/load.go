package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// Remote-write protocol versions the tool can send.
const (
	protocolV1 = "1.0"
	protocolV2 = "2.0"
)

// scrapeInterval is the grid the timestamps advance on, one step per round.
const scrapeInterval = 15 * time.Second

// loadSpec describes the traffic to pre-encode.
type loadSpec struct {
	series     int // distinct series
	rounds     int // samples per series, one per round
	perRequest int // samples (and TimeSeries) per request
	senders    int // concurrent senders: series are split among them
	protocol   string
	// end is the time the last round must not pass: the last round's
	// timestamps lie within one scrapeInterval before it.
	end time.Time
}

// body is one pre-encoded, snappy-compressed request.
type body struct {
	data    []byte
	samples int
	decoded int // length before snappy
}

// load is the pre-encoded traffic: each sender's requests in sending order.
type load struct {
	perSender  [][]body
	samples    int
	requests   int
	bytes      int // snappy-compressed, all requests
	maxDecoded int // largest request before snappy
	labels     int // labels per series
}

// point is one sample of series s.
type point struct {
	s int
	t int64
	v float64
}

// encoder marshals one batch of points into an uncompressed request body.
type encoder func(batch []point) ([]byte, error)

// buildLoad encodes the whole load. As Prometheus' queue manager does, each
// series goes through one sender only (series s to sender s mod senders), so
// its samples arrive in time order, and every TimeSeries of a request holds
// one sample with the series' full label set. A sender's batches fill across
// rounds, as a shard's do.
func buildLoad(spec loadSpec) (*load, error) {
	if spec.series <= 0 || spec.rounds <= 0 || spec.perRequest <= 0 || spec.senders <= 0 {
		return nil, fmt.Errorf("series, rounds, per-request and senders must be positive")
	}
	sets := make([]labels.Labels, spec.series)
	for i := range sets {
		sets[i] = seriesLabels(i)
	}
	var enc encoder
	switch spec.protocol {
	case protocolV1:
		enc = newV1Encoder(sets)
	case protocolV2:
		enc = newV2Encoder(sets)
	default:
		return nil, fmt.Errorf("unknown protocol %q (want %s or %s)", spec.protocol, protocolV1, protocolV2)
	}

	step := scrapeInterval.Milliseconds()
	first := spec.end.Truncate(scrapeInterval).UnixMilli() - int64(spec.rounds)*step
	l := &load{perSender: make([][]body, spec.senders), labels: sets[0].Len()}
	batch := make([]point, 0, spec.perRequest)
	flush := func(sender int) error {
		if len(batch) == 0 {
			return nil
		}
		raw, err := enc(batch)
		if err != nil {
			return err
		}
		b := body{data: snappy.Encode(nil, raw), samples: len(batch), decoded: len(raw)}
		l.perSender[sender] = append(l.perSender[sender], b)
		l.samples += b.samples
		l.requests++
		l.bytes += len(b.data)
		l.maxDecoded = max(l.maxDecoded, b.decoded)
		batch = batch[:0]
		return nil
	}
	for sender := range spec.senders {
		for r := range spec.rounds {
			for s := sender; s < spec.series; s += spec.senders {
				batch = append(batch, point{s: s, t: first + int64(r)*step + scrapeOffset(s), v: sampleValue(s, r)})
				if len(batch) == spec.perRequest {
					if err := flush(sender); err != nil {
						return nil, err
					}
				}
			}
		}
		if err := flush(sender); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// seriesLabels returns the labels of series i: an HTTP request counter as
// an instrumented service exposes it. The label values are a mixed-radix
// spelling of i (method, status, instance, then handler for the rest), so
// every i gives a distinct set.
func seriesLabels(i int) labels.Labels {
	methods := [...]string{"GET", "POST", "PUT", "DELETE"}
	statuses := [...]string{"200", "201", "304", "404", "500"}
	jobs := [...]string{"api", "checkout", "search", "auth", "gateway"}
	regions := [...]string{"eu-west-1", "us-east-1"}
	resources := [...]string{"users", "orders", "items", "carts", "payments", "sessions", "search", "health"}
	names := [...]string{"http_requests_total", "http_request_duration_seconds_count", "http_response_size_bytes_sum"}

	inst := instanceOf(i)
	h := i / 1000
	return labels.FromStrings(
		"__name__", names[h%len(names)],
		"env", "production",
		"handler", "/api/v"+strconv.Itoa(1+h/len(resources))+"/"+resources[h%len(resources)],
		"instance", "10.42."+strconv.Itoa(inst/16)+"."+strconv.Itoa(inst%16*8+3)+":8080",
		"job", jobs[inst/10],
		"method", methods[i%len(methods)],
		"region", regions[inst%len(regions)],
		"status", statuses[(i/4)%len(statuses)],
	)
}

// instanceOf is the scrape target (0-49) series i belongs to.
func instanceOf(i int) int { return (i / 20) % 50 }

// scrapeOffset is the series' offset within the grid in milliseconds: each
// target is scraped at its own point of the interval.
func scrapeOffset(i int) int64 {
	return int64(instanceOf(i)*293) % scrapeInterval.Milliseconds()
}

// sampleValue is series i's counter value at round r.
func sampleValue(i, r int) float64 {
	return float64((i*7919)%10000) + float64(r*(1+i%23)*15)
}

// newV1Encoder encodes batches as remote-write 1.0 prompb.WriteRequests.
func newV1Encoder(sets []labels.Labels) encoder {
	v1 := make([][]prompb.Label, len(sets))
	for i, ls := range sets {
		ls.Range(func(l labels.Label) {
			v1[i] = append(v1[i], prompb.Label{Name: l.Name, Value: l.Value})
		})
	}
	return func(batch []point) ([]byte, error) {
		req := prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, len(batch))}
		for k, p := range batch {
			req.Timeseries[k] = prompb.TimeSeries{
				Labels:  v1[p.s],
				Samples: []prompb.Sample{{Timestamp: p.t, Value: p.v}},
			}
		}
		raw, err := req.Marshal()
		if err != nil {
			return nil, fmt.Errorf("marshal remote-write 1.0 request: %w", err)
		}
		return raw, nil
	}
}

// newV2Encoder encodes batches as remote-write 2.0 writev2.Requests, with
// one symbol table per request (as Prometheus 3 builds them) and counter
// metadata.
func newV2Encoder(sets []labels.Labels) encoder {
	return func(batch []point) ([]byte, error) {
		st := writev2.NewSymbolTable()
		req := writev2.Request{Timeseries: make([]writev2.TimeSeries, len(batch))}
		for k, p := range batch {
			req.Timeseries[k] = writev2.TimeSeries{
				LabelsRefs: st.SymbolizeLabels(sets[p.s], nil),
				Samples:    []writev2.Sample{{Timestamp: p.t, Value: p.v}},
				Metadata:   writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_COUNTER},
			}
		}
		req.Symbols = st.Symbols()
		raw, err := req.Marshal()
		if err != nil {
			return nil, fmt.Errorf("marshal remote-write 2.0 request: %w", err)
		}
		return raw, nil
	}
}

// probeBody is a one-sample request of a series of its own, sent before
// timing to learn whether a receiver stores remote-write 2.0.
func probeBody(protocol string, now time.Time) (body, error) {
	ls := []labels.Labels{labels.FromStrings("__name__", "ingestbench_probe", "job", "ingestbench")}
	enc := newV1Encoder(ls)
	if protocol == protocolV2 {
		enc = newV2Encoder(ls)
	}
	raw, err := enc([]point{{s: 0, t: now.Add(-scrapeInterval).UnixMilli(), v: 1}})
	if err != nil {
		return body{}, err
	}
	return body{data: snappy.Encode(nil, raw), samples: 1, decoded: len(raw)}, nil
}
