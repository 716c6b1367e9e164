// Package ring keeps recent samples of selected series in per-series ring
// buffers on a fixed time grid, ready to be read by forecast models.
//
// # Grid
//
// A series has a step (whole milliseconds) and a window. Cell k of the grid
// covers the timestamps [k*step, (k+1)*step) in milliseconds since the epoch;
// its grid time is k*step. The ring holds capacity = window/step cells: the
// head cell, which is the cell of the newest accepted sample, and the
// capacity-1 cells before it. Cells that never received a sample (gaps, or
// cells skipped over when the head advanced) hold NaN.
//
// # Appending
//
// Series.Append applies these rules, in this order:
//
//   - NaN values, including Prometheus stale markers, and +Inf and -Inf are
//     ignored (nil): only finite values reach the buffers.
//   - A sample in a cell newer than the head advances the head. Every cell
//     skipped over is cleared to NaN (an advance by capacity cells or more
//     clears the whole ring) and the new head cell starts with the value.
//   - A sample in the head cell that is newer than the newest accepted
//     timestamp is aggregated into the head cell with the series'
//     Aggregation: last overwrites, mean keeps a running mean (sum and count
//     are kept for the open head cell only), min and max keep the extreme,
//     sum adds.
//   - A sample at or before the newest accepted timestamp is a resend or
//     out of order. If its cell is older than the window (before
//     head-capacity+1) it is refused with ErrTooOld. If its cell is in the
//     window and holds NaN (a gap, including cells before the first sample),
//     the cell is filled with the value and nil is returned. Otherwise the
//     cell already holds data and ErrOutOfOrder is returned. The head cell
//     always counts as holding data. This makes remote_write retries
//     idempotent (nothing is counted twice) while gaps can still be
//     backfilled; a backfilled cell keeps the first value it received.
//
// Append does not count dropped samples: callers count them by reason from
// the returned sentinel errors.
//
// # Backfilling
//
// Series.Fill writes whole, already aggregated cells (history read from
// elsewhere) in one call. Only NaN cells are filled, so live data wins; a
// fill past the head advances it and makes the end of the new head cell the
// newest accepted timestamp, so live samples later sent for filled cells are
// refused with ErrOutOfOrder instead of being aggregated twice.
//
// # Reading
//
// Series.Values copies the window oldest first, starting at the later of the
// oldest cell of the window and the oldest cell that ever held data, so the
// NaN cells before the first sample are not returned, while later gaps and
// cleared cells are returned as NaN. Series.Count counts the cells that hold
// data.
//
// # Memory
//
// The value buffer of a series (8 bytes per cell) is allocated at its first
// sample. Apart from it a series costs its labels and about 170 bytes. The
// store tracks the bytes of all value buffers it holds.
//
// # Concurrency
//
// A Store shards its series over 256 maps keyed by the label hash, each
// behind its own RWMutex; hash collisions are resolved by comparing labels.
// Every Series has its own mutex, so appends to different series never
// contend. The limit on the number of series is enforced with an atomic
// counter, so concurrent creations never exceed it. Lock order is shard,
// then series.
//
// A series removed from the store (Store.Delete, Store.GC) keeps its data
// for readers still holding it, but refuses appends with ErrSeriesRemoved so
// that a writer holding a stale pointer can look the series up again.
package ring
