package receive

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"
	"testing/iotest"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
)

func TestDecodeWriteRequest(t *testing.T) {
	req := writeReq(
		series(lbls("__name__", "a", "job", "x"), samples(0, 3, 1)...),
		series(lbls("__name__", "b"), samples(0, 1, 7)...),
	)
	req.Metadata = []prompb.MetricMetadata{{Type: prompb.MetricMetadata_GAUGE, MetricFamilyName: "b", Help: "B."}}
	body := encode(t, req)
	raw, err := proto.Marshal(req)
	require.NoError(t, err)

	for _, tc := range []struct {
		name       string
		r          io.Reader
		maxBytes   int
		want       *prompb.WriteRequest
		wantStatus int
		wantErr    string
	}{
		{name: "valid", r: bytes.NewReader(body), maxBytes: len(raw), want: req},
		{name: "default limit", r: bytes.NewReader(body), want: req},
		{name: "empty request", r: bytes.NewReader(snappy.Encode(nil, nil)), maxBytes: 1, want: &prompb.WriteRequest{}},
		{
			name: "encoded over the limit", r: bytes.NewReader(body), maxBytes: len(body) - 1,
			wantStatus: http.StatusRequestEntityTooLarge, wantErr: "body exceeds the limit",
		},
		{
			name: "decoded over the limit", r: bytes.NewReader(body), maxBytes: len(raw) - 1,
			wantStatus: http.StatusRequestEntityTooLarge, wantErr: "decoded length",
		},
		{
			name: "empty body", r: bytes.NewReader(nil),
			wantStatus: http.StatusBadRequest, wantErr: "decode snappy length",
		},
		{
			name: "truncated snappy", r: bytes.NewReader(body[:len(body)-1]),
			wantStatus: http.StatusBadRequest, wantErr: "decode snappy",
		},
		{
			name: "not protobuf", r: bytes.NewReader(snappy.Encode(nil, []byte{0x0a, 0x10, 0x01})),
			wantStatus: http.StatusBadRequest, wantErr: "unmarshal",
		},
		{
			name: "read error", r: iotest.ErrReader(errors.New("connection reset")),
			wantStatus: http.StatusBadRequest, wantErr: "connection reset",
		},
		{
			name: "read error after data", r: io.MultiReader(bytes.NewReader(body[:5]), iotest.ErrReader(io.ErrUnexpectedEOF)),
			wantStatus: http.StatusBadRequest, wantErr: "read request body",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeWriteRequest(tc.r, tc.maxBytes)
			if tc.wantStatus != 0 {
				require.ErrorContains(t, err, tc.wantErr)
				var he *HTTPError
				require.ErrorAs(t, err, &he)
				require.Equal(t, tc.wantStatus, he.Status)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			wantRaw, err := proto.Marshal(tc.want)
			require.NoError(t, err)
			gotRaw, err := proto.Marshal(got)
			require.NoError(t, err)
			require.Equal(t, wantRaw, gotRaw)
		})
	}
}

func TestHTTPError(t *testing.T) {
	base := errors.New("boom")
	err := error(&HTTPError{Status: http.StatusTeapot, Err: base})
	require.Equal(t, "boom", err.Error())
	require.ErrorIs(t, err, base)
	require.Equal(t, http.StatusTeapot, statusOf(err))
	require.Equal(t, http.StatusInternalServerError, statusOf(base))
	require.Equal(t, "Bad Request", (&HTTPError{Status: http.StatusBadRequest}).Error())
}
