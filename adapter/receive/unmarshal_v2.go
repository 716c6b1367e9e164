package receive

import (
	"errors"
	"fmt"

	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// unmarshalV2 decodes a remote-write 2.0 io.prometheus.write.v2.Request
// from b, which req.buf holds, appending to req. It accepts and refuses
// exactly what writev2.Request.Unmarshal does; label references are then
// resolved against the symbols (see resolveV2). Native histograms and
// exemplars are checked by the generated code and counted.
func (req *writeRequest) unmarshalV2(b []byte) error {
	for i := 0; i < len(b); {
		field, wire, next, err := tag(b, i, "Request")
		if err != nil {
			return err
		}
		switch field {
		case 4:
			if wire != 2 {
				return wrongWire(wire, "Symbols")
			}
			lo, hi, err := bytesField(b, next)
			if err != nil {
				return err
			}
			req.symbols = append(req.symbols, alias(b, lo, hi))
			i = hi
		case 5:
			if wire != 2 {
				return wrongWire(wire, "Timeseries")
			}
			lo, hi, err := bytesField(b, next)
			if err != nil {
				return err
			}
			if err := req.unmarshalSeriesV2(b[lo:hi]); err != nil {
				return err
			}
			i = hi
		default:
			if i, err = skipField(b, i); err != nil {
				return err
			}
			req.unknown = true
		}
	}
	return nil
}

// unmarshalSeriesV2 decodes one io.prometheus.write.v2.TimeSeries and
// appends it, its label references unresolved.
func (req *writeRequest) unmarshalSeriesV2(b []byte) error {
	s := wireSeries{samplesLo: int32(len(req.samples)), refsLo: int32(len(req.refs))}
	for i := 0; i < len(b); {
		field, wire, next, err := tag(b, i, "TimeSeries")
		if err != nil {
			return err
		}
		switch field {
		case 1:
			if i, err = req.unmarshalRefs(b, wire, next); err != nil {
				return err
			}
			continue
		case 2, 3, 4, 5:
			if wire != 2 {
				return wrongWire(wire, [...]string{"Samples", "Histograms", "Exemplars", "Metadata"}[field-2])
			}
		default:
			if i, err = skipField(b, i); err != nil {
				return err
			}
			continue
		}
		lo, hi, err := bytesField(b, next)
		if err != nil {
			return err
		}
		switch field {
		case 2:
			smp, err := unmarshalSampleV2(b[lo:hi])
			if err != nil {
				return err
			}
			req.samples = append(req.samples, smp)
		case 3:
			var h writev2.Histogram
			if err := h.Unmarshal(b[lo:hi]); err != nil {
				return err
			}
			s.histograms++
		case 4:
			var e writev2.Exemplar
			if err := e.Unmarshal(b[lo:hi]); err != nil {
				return err
			}
			s.exemplars++
		case 5:
			// A repeated message field merges: the last type wins.
			if err := unmarshalMetadataV2(b[lo:hi], &s); err != nil {
				return err
			}
		}
		i = hi
	}
	s.samplesHi, s.refsHi = int32(len(req.samples)), int32(len(req.refs))
	req.histograms += int(s.histograms)
	req.exemplars += int(s.exemplars)
	req.series = append(req.series, s)
	return nil
}

// uvarint32 reads a varint into a uint32 as the generated code does: at
// most ten bytes, bits beyond 32 dropped.
func uvarint32(b []byte, i int) (uint32, int, error) {
	v, i, err := uvarint(b, i)
	return uint32(v), i, err
}

// unmarshalRefs reads labels_refs, unpacked (wire type 0) or packed (2),
// and returns the index after them.
func (req *writeRequest) unmarshalRefs(b []byte, wire, i int) (int, error) {
	switch wire {
	case 0:
		v, i, err := uvarint32(b, i)
		if err != nil {
			return 0, err
		}
		req.refs = append(req.refs, v)
		return i, nil
	case 2:
		lo, hi, err := bytesField(b, i)
		if err != nil {
			return 0, err
		}
		i = lo
		// As in the generated code, a varint may run past the packed
		// field's end: only the message's end bounds it.
		for i < hi {
			var v uint32
			if v, i, err = uvarint32(b, i); err != nil {
				return 0, err
			}
			req.refs = append(req.refs, v)
		}
		return i, nil
	}
	return 0, wrongWire(wire, "LabelsRefs")
}

// unmarshalSampleV2 decodes an io.prometheus.write.v2.Sample; the start
// timestamp is read and ignored.
func unmarshalSampleV2(b []byte) (wireSample, error) {
	var s wireSample
	for i := 0; i < len(b); {
		field, wire, next, err := tag(b, i, "Sample")
		if err != nil {
			return s, err
		}
		switch field {
		case 1:
			if wire != 1 {
				return s, wrongWire(wire, "Value")
			}
			if s.v, i, err = fixed64(b, next); err != nil {
				return s, err
			}
		case 2, 3:
			if wire != 0 {
				return s, wrongWire(wire, [...]string{"Timestamp", "StartTimestamp"}[field-2])
			}
			var t uint64
			if t, i, err = uvarint(b, next); err != nil {
				return s, err
			}
			if field == 2 {
				s.t = int64(t)
			}
		default:
			if i, err = skipField(b, i); err != nil {
				return s, err
			}
		}
	}
	return s, nil
}

// unmarshalMetadataV2 decodes an io.prometheus.write.v2.Metadata into s.
func unmarshalMetadataV2(b []byte, s *wireSeries) error {
	for i := 0; i < len(b); {
		field, wire, next, err := tag(b, i, "Metadata")
		if err != nil {
			return err
		}
		switch field {
		case 1, 3, 4:
			if wire != 0 {
				return wrongWire(wire, map[int32]string{1: "Type", 3: "HelpRef", 4: "UnitRef"}[field])
			}
			var v uint64
			if v, i, err = uvarint(b, next); err != nil {
				return err
			}
			switch field {
			case 1:
				s.typ = typeV2(int32(v))
			case 3:
				s.helpRef = uint32(v)
			case 4:
				s.unitRef = uint32(v)
			}
		default:
			if i, err = skipField(b, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// typeV2 maps a 2.0 metadata type to the ring's: the enums list the types
// in the same order.
func typeV2(t int32) ring.MetricType {
	if t >= 0 && t <= int32(writev2.Metadata_METRIC_TYPE_STATESET) {
		return ring.MetricType(t)
	}
	return ring.TypeUnknown
}

// Reasons for a 2.0 request or series to be invalid.
var (
	errSymbolsStart = errors.New(`symbols[0] must be the empty string`)
	errOddRefs      = errors.New("labels_refs has an odd number of references")
	errBothKinds    = errors.New("series has both float samples and native histograms")
	errNoSamples    = errors.New("series has neither float samples nor native histograms")
)

// resolveV2 checks the symbols and resolves every series' label references
// into labels. A series with invalid references keeps none (labelsLo ==
// labelsHi) and is marked in bad, indexed like req.series; a request whose
// symbols do not start with "" is invalid as a whole.
func (req *writeRequest) resolveV2(bad []error) ([]error, error) {
	if len(req.symbols) > 0 && req.symbols[0] != "" {
		return bad, errSymbolsStart
	}
	for si := range req.series {
		s := &req.series[si]
		s.labelsLo = int32(len(req.labels))
		refs := req.refs[s.refsLo:s.refsHi]
		var err error
		if len(refs)%2 != 0 {
			err = errOddRefs
		}
		for j := 0; err == nil && j < len(refs); j += 2 {
			n, v := refs[j], refs[j+1]
			if int(n) >= len(req.symbols) || int(v) >= len(req.symbols) {
				err = fmt.Errorf("label reference %d out of the %d symbols", max(n, v), len(req.symbols))
				break
			}
			req.labels = append(req.labels, wireLabel{name: req.symbols[n], value: req.symbols[v]})
		}
		if err != nil {
			req.labels = req.labels[:s.labelsLo]
		} else {
			err = checkSeriesV2(s, len(req.symbols))
		}
		if err != nil {
			bad = markBad(bad, len(req.series), si, err)
		}
		s.labelsHi = int32(len(req.labels))
		s.parsed = true
	}
	return bad, nil
}

// markBad records err for series i in bad, growing it to n entries.
func markBad(bad []error, n, i int, err error) []error {
	if bad == nil {
		bad = make([]error, n)
	}
	bad[i] = err
	return bad
}

// checkSeriesV2 checks what the 2.0 specification requires of a series
// besides its labels, as Prometheus' receiver does: samples or histograms,
// not both, and metadata references within the symbols.
func checkSeriesV2(s *wireSeries, symbols int) error {
	samples := s.samplesHi > s.samplesLo
	switch {
	case samples && s.histograms > 0:
		return errBothKinds
	case !samples && s.histograms == 0:
		return errNoSamples
	case (s.helpRef != 0 && int(s.helpRef) >= symbols) || (s.unitRef != 0 && int(s.unitRef) >= symbols):
		return fmt.Errorf("metadata reference %d out of the %d symbols", max(s.helpRef, s.unitRef), symbols)
	}
	return nil
}
