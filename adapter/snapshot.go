package adapter

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/go-kit/log/level"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/storage/ring"
	"github.com/train-prometheus/train-prometheus/storage/snapshot"
)

// applyStorage points the snapshot manager at the configured backend: the
// S3 bucket when storage.s3 is set, else Options.StoragePath. A zero
// snapshot_interval, or no storage path without S3, disables snapshots.
func (a *Adapter) applyStorage(c *config.Config) error {
	a.storageMu.Lock()
	defer a.storageMu.Unlock()
	sc := c.Storage
	interval := time.Duration(sc.SnapshotInterval)
	if a.storageApplied && reflect.DeepEqual(sc, a.storageCfg) {
		return nil
	}
	backend, err := a.storageBackend(sc)
	if err != nil {
		return err
	}
	if backend == nil {
		interval = 0
	}
	a.snapshots.SetBackend(backend, interval)
	a.storageCfg, a.storageApplied, a.snapshotsOn = sc, true, backend != nil
	if backend != nil {
		level.Info(a.logger).Log("msg", "Snapshots configured", "backend", backend.String(), "interval", interval)
	}
	return nil
}

// storageBackend builds the snapshot backend sc configures; nil when
// snapshots are off. ApplyConfig also calls it to check a configuration
// before applying any of it.
func (a *Adapter) storageBackend(sc config.StorageConfig) (snapshot.Backend, error) {
	var backend snapshot.Backend
	switch {
	case time.Duration(sc.SnapshotInterval) == 0:
	case sc.S3 != nil:
		b, err := snapshot.NewS3(context.Background(), snapshot.S3Options{
			Bucket: sc.S3.Bucket, Prefix: sc.S3.Prefix, Region: sc.S3.Region, Endpoint: sc.S3.Endpoint,
			PathStyle: sc.S3.ForcePathStyle, AccessKeyID: sc.S3.AccessKeyID, SecretAccessKey: string(sc.S3.SecretAccessKey),
		})
		if err != nil {
			return nil, err
		}
		backend = b
	case a.opts.StoragePath != "":
		b, err := snapshot.NewLocal(a.opts.StoragePath)
		if err != nil {
			return nil, err
		}
		backend = b
	}
	return backend, nil
}

func (a *Adapter) snapshotsEnabled() bool {
	a.storageMu.Lock()
	defer a.storageMu.Unlock()
	return a.snapshotsOn
}

// Restore restores the ring buffers and fitted models from the newest
// intact snapshot, matched to the configuration in force (see
// engine.RestoreSeries). Call it after the first ApplyConfig and before the
// receiver serves. Failures are logged, not returned: the adapter then
// starts empty rather than not at all.
//
// After a restore the remote-read backfiller is told which series were
// restored (Backfiller.NoteRestored): it then reads only the gap since
// their newest samples, and whole windows only for series not restored.
func (a *Adapter) Restore(ctx context.Context) snapshot.Info {
	if !a.snapshotsEnabled() {
		return snapshot.Info{}
	}
	info, err := a.snapshots.Restore(ctx)
	if err != nil {
		level.Error(a.logger).Log("msg", "Restoring snapshot failed; starting with what was restored", "err", err,
			"series", info.Series)
		return info
	}
	if info.Name == "" {
		level.Info(a.logger).Log("msg", "No snapshot to restore")
		return info
	}
	level.Info(a.logger).Log("msg", "Restored snapshot", "name", info.Name, "created", info.Created.UTC(),
		"series", info.Series, "dropped_series", info.Dropped, "bytes", info.Bytes, "took", info.Took)
	// Remote-read backfill then reads only the gap since the snapshot.
	a.backfill.NoteRestored(a.store)
	return info
}

// restoreSeries restores one saved series unless it can no longer receive
// samples here: a series another replica owns (a snapshot taken before
// --shard.total changed), or one with a tenant while tenancy is off (the
// receiver strips the tenant label then). Such a series would be forecast
// until it went stale, beside the replica or the tenant-less series that
// now gets its samples, under the same output names.
func (a *Adapter) restoreSeries(st ring.SeriesState, extra []byte) (bool, error) {
	if !a.opts.Shard.Owns(st.Labels) {
		return false, nil
	}
	if cfg := a.cfg.Load(); cfg != nil && !cfg.Tenancy.Enabled && st.Labels.Has(config.TenantLabel) {
		return false, nil
	}
	return a.engine.RestoreSeries(st, extra)
}

// RunSnapshots writes snapshots every storage.snapshot_interval until ctx
// is done.
func (a *Adapter) RunSnapshots(ctx context.Context) error {
	return a.snapshots.Run(ctx)
}

// Snapshot writes a snapshot now, e.g. at shutdown once the receiver and
// the engine have stopped. It does nothing when snapshots are disabled.
func (a *Adapter) Snapshot(ctx context.Context) error {
	if !a.snapshotsEnabled() {
		return nil
	}
	info, err := a.snapshots.Snapshot(ctx)
	if err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	if info.Name == "" {
		return nil // no series holds data: the stored snapshots are kept (logged by the manager)
	}
	level.Info(a.logger).Log("msg", "Snapshot written", "name", info.Name, "series", info.Series, "bytes", info.Bytes, "took", info.Took)
	return nil
}
