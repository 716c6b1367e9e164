package writeback

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
)

// encoder turns a batch of samples into a snappy-compressed remote-write 1.0
// request. Its buffers are reused from one batch to the next, so an encoder
// belongs to one goroutine and the body it returns is valid until the next
// call.
type encoder struct {
	index   map[uint64]int32 // series hash → first series with that hash
	next    []int32          // next series with the same hash, -1 ends
	lbls    []labels.Labels  // labels of each series
	counts  []int32          // samples of each series, then write offsets
	owner   []int32          // series of each sample of the batch
	series  []prompb.TimeSeries
	labelsA []prompb.Label
	samples []prompb.Sample
	pb      []byte
	body    []byte
}

// newEncoder returns an encoder with empty buffers.
func newEncoder() *encoder {
	return &encoder{index: map[uint64]int32{}}
}

// encode groups batch by series (one TimeSeries per distinct label set, in
// the order each first appears; its samples in time order), marshals the
// request and compresses it with snappy's block format.
func (e *encoder) encode(batch []Sample) ([]byte, error) {
	e.group(batch)
	req := prompb.WriteRequest{Timeseries: e.series}
	size := req.Size()
	if cap(e.pb) < size {
		e.pb = make([]byte, size)
	}
	n, err := req.MarshalToSizedBuffer(e.pb[:size])
	if err != nil {
		return nil, fmt.Errorf("marshal write request: %w", err)
	}
	pb := e.pb[size-n : size]
	if m := snappy.MaxEncodedLen(len(pb)); cap(e.body) < m {
		e.body = make([]byte, m)
	}
	e.body = snappy.Encode(e.body[:cap(e.body)], pb)
	e.reset()
	return e.body, nil
}

// group fills e.series from batch.
func (e *encoder) group(batch []Sample) {
	e.owner = slices.Grow(e.owner[:0], len(batch))[:len(batch)]
	for i := range batch {
		e.owner[i] = e.seriesOf(batch[i].Labels)
	}

	// Turn counts into offsets into one sample arena, and size the labels
	// arena, so no slice handed to a TimeSeries is moved by a later append.
	nLabels := 0
	var off int32
	for s, c := range e.counts {
		e.counts[s] = off
		off += c
		nLabels += e.lbls[s].Len()
	}
	e.samples = slices.Grow(e.samples[:0], len(batch))[:len(batch)]
	e.labelsA = slices.Grow(e.labelsA[:0], nLabels)

	e.series = slices.Grow(e.series[:0], len(e.lbls))[:len(e.lbls)]
	for s := range e.lbls {
		start := len(e.labelsA)
		e.lbls[s].Range(func(l labels.Label) {
			e.labelsA = append(e.labelsA, prompb.Label{Name: l.Name, Value: l.Value})
		})
		e.series[s] = prompb.TimeSeries{Labels: e.labelsA[start:len(e.labelsA):len(e.labelsA)]}
	}
	for i := range batch {
		s := e.owner[i]
		e.samples[e.counts[s]] = prompb.Sample{Value: batch[i].V, Timestamp: batch[i].T}
		e.counts[s]++
	}
	var start int32
	for s := range e.series {
		end := e.counts[s]
		ss := e.samples[start:end:end]
		if !slices.IsSortedFunc(ss, bySampleTime) {
			slices.SortStableFunc(ss, bySampleTime)
		}
		e.series[s].Samples = ss
		start = end
	}
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
	e.lbls = e.lbls[:0]
	e.next = e.next[:0]
	e.counts = e.counts[:0]
}

// bySampleTime orders samples by timestamp.
func bySampleTime(a, b prompb.Sample) int {
	return cmp.Compare(a.Timestamp, b.Timestamp)
}
