package writeback

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/train-prometheus/train-prometheus/adapter/config"
)

// encoder turns a batch of samples into a snappy-compressed remote-write
// request, 1.0 or 2.0. Its buffers are reused from one batch to the next,
// so an encoder belongs to one goroutine and the body it returns is valid
// until the next call.
type encoder struct {
	index   map[uint64]int32 // series hash → first series with that hash
	next    []int32          // next series with the same hash, -1 ends
	lbls    []labels.Labels  // labels of each series
	counts  []int32          // samples of each series, then end offsets in samples
	owner   []int32          // series of each sample of the batch
	samples []prompb.Sample  // every sample, grouped by series, each group in time order
	pb      []byte
	body    []byte

	// Remote-write 1.0.
	series  []prompb.TimeSeries
	labelsA []prompb.Label

	// Remote-write 2.0.
	symbols   writev2.SymbolsTable
	seriesV2  []writev2.TimeSeries
	refsA     []uint32
	samplesV2 []writev2.Sample
}

// v2Help is the help text of every series written with remote-write 2.0:
// all of them are gauges (forecasts, bounds, anomaly scores and flags).
const v2Help = "Forecast, forecast bound, anomaly score or anomaly flag written by train-prometheus."

// newEncoder returns an encoder with empty buffers.
func newEncoder() *encoder {
	return &encoder{index: map[uint64]int32{}, symbols: writev2.NewSymbolTable()}
}

// encode groups batch by series (one TimeSeries per distinct label set, in
// the order each first appears; its samples in time order), marshals it as
// msg (1.0 unless msg is config.ProtobufMessageV2) and compresses it with
// snappy's block format.
func (e *encoder) encode(batch []Sample, msg config.ProtobufMessage) ([]byte, error) {
	defer e.reset()
	e.group(batch)
	var (
		pb  []byte
		err error
	)
	if msg == config.ProtobufMessageV2 {
		pb, err = e.marshalV2()
	} else {
		pb, err = e.marshalV1()
	}
	if err != nil {
		return nil, err
	}
	if m := snappy.MaxEncodedLen(len(pb)); cap(e.body) < m {
		e.body = make([]byte, m)
	}
	e.body = snappy.Encode(e.body[:cap(e.body)], pb)
	return e.body, nil
}

// marshalV1 marshals the grouped batch as a prometheus.WriteRequest.
func (e *encoder) marshalV1() ([]byte, error) {
	// Size the labels arena first, so no slice handed to a TimeSeries is
	// moved by a later append.
	nLabels := 0
	for s := range e.lbls {
		nLabels += e.lbls[s].Len()
	}
	e.labelsA = slices.Grow(e.labelsA[:0], nLabels)
	e.series = slices.Grow(e.series[:0], len(e.lbls))[:len(e.lbls)]
	for s := range e.lbls {
		start := len(e.labelsA)
		e.lbls[s].Range(func(l labels.Label) {
			e.labelsA = append(e.labelsA, prompb.Label{Name: l.Name, Value: l.Value})
		})
		e.series[s] = prompb.TimeSeries{
			Labels:  e.labelsA[start:len(e.labelsA):len(e.labelsA)],
			Samples: e.samplesOf(s),
		}
	}
	req := prompb.WriteRequest{Timeseries: e.series}
	size := req.Size()
	if cap(e.pb) < size {
		e.pb = make([]byte, size)
	}
	n, err := req.MarshalToSizedBuffer(e.pb[:size])
	if err != nil {
		return nil, fmt.Errorf("marshal write request: %w", err)
	}
	return e.pb[size-n : size], nil
}

// marshalV2 marshals the grouped batch as an io.prometheus.write.v2.Request:
// label names and values as references into one symbols table (symbols[0]
// is ""), and every series typed as a gauge with v2Help.
func (e *encoder) marshalV2() ([]byte, error) {
	nRefs := 0
	for s := range e.lbls {
		nRefs += 2 * e.lbls[s].Len()
	}
	e.refsA = slices.Grow(e.refsA[:0], nRefs)
	e.samplesV2 = slices.Grow(e.samplesV2[:0], len(e.samples))[:len(e.samples)]
	for i, smp := range e.samples {
		e.samplesV2[i] = writev2.Sample{Value: smp.Value, Timestamp: smp.Timestamp}
	}
	meta := writev2.Metadata{
		Type:    writev2.Metadata_METRIC_TYPE_GAUGE,
		HelpRef: e.symbols.Symbolize(v2Help),
	}
	e.seriesV2 = slices.Grow(e.seriesV2[:0], len(e.lbls))[:len(e.lbls)]
	var start int32
	for s := range e.lbls {
		first := len(e.refsA)
		e.lbls[s].Range(func(l labels.Label) {
			e.refsA = append(e.refsA, e.symbols.Symbolize(l.Name), e.symbols.Symbolize(l.Value))
		})
		end := e.counts[s]
		e.seriesV2[s] = writev2.TimeSeries{
			LabelsRefs: e.refsA[first:len(e.refsA):len(e.refsA)],
			Samples:    e.samplesV2[start:end:end],
			Metadata:   meta,
		}
		start = end
	}
	req := writev2.Request{Symbols: e.symbols.Symbols(), Timeseries: e.seriesV2}
	size := req.Size()
	if cap(e.pb) < size {
		e.pb = make([]byte, size)
	}
	// The optimized marshaller writes the packed label refs in place; the
	// generated one allocates a buffer per series for them.
	n, err := req.OptimizedMarshalToSizedBuffer(e.pb[:size])
	if err != nil {
		return nil, fmt.Errorf("marshal v2 write request: %w", err)
	}
	return e.pb[size-n : size], nil
}

// group fills e.lbls, e.counts and e.samples from batch.
func (e *encoder) group(batch []Sample) {
	e.owner = slices.Grow(e.owner[:0], len(batch))[:len(batch)]
	for i := range batch {
		e.owner[i] = e.seriesOf(batch[i].Labels)
	}

	// Turn counts into offsets into one sample arena.
	var off int32
	for s, c := range e.counts {
		e.counts[s] = off
		off += c
	}
	e.samples = slices.Grow(e.samples[:0], len(batch))[:len(batch)]
	for i := range batch {
		s := e.owner[i]
		e.samples[e.counts[s]] = prompb.Sample{Value: batch[i].V, Timestamp: batch[i].T}
		e.counts[s]++
	}
	// counts now holds end offsets.
	var start int32
	for s := range e.lbls {
		end := e.counts[s]
		ss := e.samples[start:end:end]
		if !slices.IsSortedFunc(ss, bySampleTime) {
			slices.SortStableFunc(ss, bySampleTime)
		}
		start = end
	}
}

// samplesOf returns the samples of series s. The caller ran group.
func (e *encoder) samplesOf(s int) []prompb.Sample {
	var start int32
	if s > 0 {
		start = e.counts[s-1]
	}
	end := e.counts[s]
	return e.samples[start:end:end]
}

// seriesOf returns the index of the series with labels ls, adding it when
// it is new.
func (e *encoder) seriesOf(ls labels.Labels) int32 {
	h := ls.Hash()
	first, ok := e.index[h]
	if ok {
		for s := first; s >= 0; s = e.next[s] {
			if labels.Equal(e.lbls[s], ls) {
				e.counts[s]++
				return s
			}
		}
	}
	s := int32(len(e.lbls))
	e.lbls = append(e.lbls, ls)
	e.counts = append(e.counts, 1)
	if ok {
		// Hash collision: chain the new series behind the first one.
		e.next = append(e.next, e.next[first])
		e.next[first] = s
	} else {
		e.next = append(e.next, -1)
		e.index[h] = s
	}
	return s
}

// reset clears the per-batch state and drops references to labels.
func (e *encoder) reset() {
	clear(e.index)
	clear(e.lbls)
	clear(e.series)
	clear(e.labelsA)
	clear(e.seriesV2)
	e.symbols.Reset()
	e.lbls = e.lbls[:0]
	e.next = e.next[:0]
	e.counts = e.counts[:0]
}

// bySampleTime orders samples by timestamp.
func bySampleTime(a, b prompb.Sample) int {
	return cmp.Compare(a.Timestamp, b.Timestamp)
}
