package receive

import (
	"io"

	"github.com/prometheus/prometheus/prompb"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// unmarshalV1 decodes a remote-write 1.0 prometheus.WriteRequest from b,
// which req.buf holds, appending to req. It accepts and refuses exactly
// what prompb.WriteRequest.Unmarshal does. Labels and samples are decoded
// by hand without allocating; native histograms, exemplars and metadata,
// which are rare or not forecast, are checked by the generated code and
// counted.
func (req *writeRequest) unmarshalV1(b []byte) error {
	for i := 0; i < len(b); {
		field, wire, next, err := tag(b, i, "WriteRequest")
		if err != nil {
			return err
		}
		switch field {
		case 1:
			if wire != 2 {
				return wrongWire(wire, "Timeseries")
			}
			lo, hi, err := bytesField(b, next)
			if err != nil {
				return err
			}
			if err := req.unmarshalSeriesV1(b[:hi], lo); err != nil {
				return err
			}
			i = hi
		case 3:
			if wire != 2 {
				return wrongWire(wire, "Metadata")
			}
			lo, hi, err := bytesField(b, next)
			if err != nil {
				return err
			}
			var md prompb.MetricMetadata
			if err := md.Unmarshal(b[lo:hi]); err != nil {
				return err
			}
			req.metadata = append(req.metadata, familyType{name: md.MetricFamilyName, typ: typeV1(md.Type)})
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

// unmarshalSeriesV1 decodes one prometheus.TimeSeries, b[start:], and
// appends it. When its label fields are contiguous, as Prometheus writes
// them, only their bounds are kept: parseLabels decodes them when needed.
func (req *writeRequest) unmarshalSeriesV1(b []byte, start int) error {
	s := wireSeries{samplesLo: int32(len(req.samples)), rawLo: -1}
	lastLabel := -1 // index of the field before which the last label ended
	contiguous := true
	for i := start; i < len(b); {
		// Fast path: a label field (tag 0x0a) shorter than 128 bytes, as
		// almost every label is.
		if b[i] == 0x0a && i+1 < len(b) && b[i+1] < 0x80 {
			hi := i + 2 + int(b[i+1])
			if hi > len(b) {
				return io.ErrUnexpectedEOF
			}
			if s.rawLo < 0 {
				s.rawLo = int32(i)
			} else if lastLabel != i {
				contiguous = false
			}
			lastLabel, i = hi, hi
			continue
		}
		field, wire, next, err := tag(b, i, "TimeSeries")
		if err != nil {
			return err
		}
		if field >= 1 && field <= 4 && wire != 2 {
			return wrongWire(wire, [...]string{"Labels", "Samples", "Exemplars", "Histograms"}[field-1])
		}
		if field < 1 || field > 4 {
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
		case 1:
			if s.rawLo < 0 {
				s.rawLo = int32(i)
			} else if lastLabel != i {
				contiguous = false
			}
			lastLabel = hi
		case 2:
			smp, err := unmarshalSampleV1(b[lo:hi])
			if err != nil {
				return err
			}
			req.samples = append(req.samples, smp)
		case 3:
			var e prompb.Exemplar
			if err := e.Unmarshal(b[lo:hi]); err != nil {
				return err
			}
			s.exemplars++
		case 4:
			var h prompb.Histogram
			if err := h.Unmarshal(b[lo:hi]); err != nil {
				return err
			}
			s.histograms++
		}
		i = hi
	}
	s.samplesHi = int32(len(req.samples))
	if s.rawLo < 0 {
		s.rawLo, s.rawHi = int32(start), int32(start) // no labels
	} else {
		s.rawHi = int32(lastLabel)
	}
	s.rawKey = true
	if !contiguous {
		// Labels interleaved with other fields: decode them now, one by
		// one, and key the series by their values.
		s.rawKey = false
		if err := req.parseLabelFields(&s, b, start); err != nil {
			return err
		}
	}
	req.histograms += int(s.histograms)
	req.exemplars += int(s.exemplars)
	req.series = append(req.series, s)
	return nil
}

// parseLabelFields decodes the label fields of the series b[start:] into
// req.labels, skipping its other fields: the labels of a series whose label
// fields are interleaved with others at once, and those unmarshalV1 left
// for later (parseLabels) on a cache miss.
func (req *writeRequest) parseLabelFields(s *wireSeries, b []byte, start int) error {
	s.labelsLo = int32(len(req.labels))
	for i := start; i < len(b); {
		field, _, next, err := tag(b, i, "TimeSeries")
		if err != nil {
			return err
		}
		if field != 1 {
			if i, err = skipField(b, i); err != nil {
				return err
			}
			continue
		}
		lo, hi, err := bytesField(b, next)
		if err != nil {
			return err
		}
		l, err := unmarshalLabel(b[lo:hi])
		if err != nil {
			return err
		}
		req.labels = append(req.labels, l)
		i = hi
	}
	s.labelsHi = int32(len(req.labels))
	s.parsed = true
	return nil
}

// unmarshalLabel decodes a prometheus.Label; its strings alias b.
func unmarshalLabel(b []byte) (wireLabel, error) {
	var l wireLabel
	for i := 0; i < len(b); {
		field, wire, next, err := tag(b, i, "Label")
		if err != nil {
			return l, err
		}
		switch field {
		case 1, 2:
			if wire != 2 {
				return l, wrongWire(wire, [...]string{"Name", "Value"}[field-1])
			}
			lo, hi, err := bytesField(b, next)
			if err != nil {
				return l, err
			}
			if field == 1 {
				l.name = alias(b, lo, hi)
			} else {
				l.value = alias(b, lo, hi)
			}
			i = hi
		default:
			if i, err = skipField(b, i); err != nil {
				return l, err
			}
		}
	}
	return l, nil
}

// unmarshalSampleV1 decodes a prometheus.Sample.
func unmarshalSampleV1(b []byte) (wireSample, error) {
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
		case 2:
			if wire != 0 {
				return s, wrongWire(wire, "Timestamp")
			}
			var t uint64
			if t, i, err = uvarint(b, next); err != nil {
				return s, err
			}
			s.t = int64(t)
		default:
			if i, err = skipField(b, i); err != nil {
				return s, err
			}
		}
	}
	return s, nil
}

// typeV1 maps a 1.0 metadata type to the ring's.
func typeV1(t prompb.MetricMetadata_MetricType) ring.MetricType {
	if t >= 0 && t <= prompb.MetricMetadata_STATESET {
		// The enum lists the types in the ring's order.
		return ring.MetricType(t)
	}
	return ring.TypeUnknown
}
