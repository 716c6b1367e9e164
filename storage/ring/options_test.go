package ring

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseAggregation(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Aggregation
		wantErr bool
	}{
		{in: "last", want: AggLast},
		{in: "mean", want: AggMean},
		{in: "min", want: AggMin},
		{in: "max", want: AggMax},
		{in: "sum", want: AggSum},
		{in: "avg", wantErr: true},
		{in: "", wantErr: true},
		{in: "Last", wantErr: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseAggregation(tc.in)
			if tc.wantErr {
				require.ErrorIs(t, err, ErrUnknownAggregation)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.in, got.String())

			text, err := got.MarshalText()
			require.NoError(t, err)
			var back Aggregation
			require.NoError(t, back.UnmarshalText(text))
			require.Equal(t, got, back)
		})
	}
}

func TestAggregationInvalid(t *testing.T) {
	a := Aggregation(7)
	require.Equal(t, "Aggregation(7)", a.String())
	_, err := a.MarshalText()
	require.ErrorIs(t, err, ErrUnknownAggregation)
	require.Equal(t, "Aggregation(-1)", Aggregation(-1).String())

	b := AggMax
	require.ErrorIs(t, b.UnmarshalText([]byte("median")), ErrUnknownAggregation)
	require.Equal(t, AggMax, b, "failed unmarshal must not change the value")
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     Options
		capacity int
		valid    bool
	}{
		{name: "minute week", opts: Options{Step: time.Minute, Window: 7 * 24 * time.Hour}, capacity: 10080, valid: true},
		{name: "one cell", opts: Options{Step: time.Second, Window: time.Second}, capacity: 1, valid: true},
		{name: "window rounded down", opts: Options{Step: time.Minute, Window: 150 * time.Second, Aggregate: AggSum}, capacity: 2, valid: true},
		{name: "zero step", opts: Options{Window: time.Hour}},
		{name: "negative step", opts: Options{Step: -time.Second, Window: time.Hour}},
		{name: "sub-millisecond step", opts: Options{Step: 1500 * time.Microsecond, Window: time.Hour}},
		{name: "window shorter than step", opts: Options{Step: time.Minute, Window: time.Second}},
		{name: "too many cells", opts: Options{Step: time.Millisecond, Window: 2 * time.Hour}},
		{name: "unknown aggregation", opts: Options{Step: time.Second, Window: time.Hour, Aggregate: 9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			if !tc.valid {
				require.ErrorIs(t, err, ErrInvalidOptions)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.capacity, tc.opts.Capacity())
		})
	}
}
