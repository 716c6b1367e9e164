// Package shard splits the series among replicas of train-prometheus: each
// replica owns the series whose hash, modulo the number of replicas, is its
// index. The hash is the one Prometheus' `hashmod` relabel action computes
// (MD5 of the source label values joined by ";", last 8 bytes big-endian),
// so a Prometheus can either send every series to every replica, which then
// keeps only its own, or route each series to its owner with hashmod
// relabeling over the same labels.
package shard

import (
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// separator joins the label values, as relabeling's default separator.
const separator = ";"

// Shard is one replica's share of the series. The zero value and any shard
// of Total <= 1 own every series.
type Shard struct {
	Index uint64
	Total uint64
	// By names the labels hashed, as source_labels of a hashmod relabel
	// rule. Empty means all labels of the series, in name order.
	By []string
}

// New returns the shard index of total, hashing the labels by. An index
// below zero is taken from hostname, whose suffix "-N" is the ordinal of a
// StatefulSet pod.
func New(index, total int, by []string, hostname string) (Shard, error) {
	if total < 1 {
		return Shard{}, fmt.Errorf("shard total must be at least 1, not %d", total)
	}
	for _, l := range by {
		if !model.UTF8Validation.IsValidLabelName(l) {
			return Shard{}, fmt.Errorf("shard label %q is not a valid label name", l)
		}
	}
	if index < 0 {
		if total == 1 {
			index = 0
		} else {
			n, err := IndexFromHostname(hostname)
			if err != nil {
				return Shard{}, fmt.Errorf("derive shard index: %w", err)
			}
			index = n
		}
	}
	if index >= total {
		return Shard{}, fmt.Errorf("shard index %d out of range for %d shards", index, total)
	}
	return Shard{Index: uint64(index), Total: uint64(total), By: by}, nil
}

// IndexFromHostname returns N of a hostname "name-N", the way a StatefulSet
// names its pods.
func IndexFromHostname(hostname string) (int, error) {
	i := strings.LastIndexByte(hostname, '-')
	if i < 0 || i == len(hostname)-1 {
		return 0, fmt.Errorf("hostname %q does not end in -N (a StatefulSet ordinal); set --shard.index", hostname)
	}
	n, err := strconv.Atoi(hostname[i+1:])
	if err != nil || n < 0 || hostname[i+1] == '+' {
		return 0, fmt.Errorf("hostname %q does not end in -N (a StatefulSet ordinal); set --shard.index", hostname)
	}
	return n, nil
}

// ParseLabels splits a comma-separated list of label names; empty gives nil.
func ParseLabels(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []string
	for _, l := range strings.Split(s, ",") {
		l = strings.TrimSpace(l)
		if l == "" {
			return nil, errors.New("empty label name in shard labels")
		}
		out = append(out, l)
	}
	return out, nil
}

// Enabled reports whether the series are split at all.
func (s Shard) Enabled() bool { return s.Total > 1 }

// Owns reports whether lset belongs to this shard.
func (s Shard) Owns(lset labels.Labels) bool {
	if s.Total <= 1 {
		return true
	}
	return Hash(lset, s.By)%s.Total == s.Index
}

// Hash returns the hash hashmod relabeling computes over the values of the
// labels by (all labels, in name order, when by is empty): a missing label
// counts as the empty value, as in relabeling.
func Hash(lset labels.Labels, by []string) uint64 {
	// On the stack for usual label sets: this runs once per series of
	// every remote-write request.
	var arr [512]byte
	b := arr[:0]
	if len(by) == 0 {
		first := true
		lset.Range(func(l labels.Label) {
			if !first {
				b = append(b, separator...)
			}
			first = false
			b = append(b, l.Value...)
		})
	} else {
		for i, name := range by {
			if i > 0 {
				b = append(b, separator...)
			}
			b = append(b, lset.Get(name)...)
		}
	}
	sum := md5.Sum(b)
	return binary.BigEndian.Uint64(sum[8:])
}

// String describes the shard for logs, e.g. "1/3 by [job instance]".
func (s Shard) String() string {
	by := "all labels"
	if len(s.By) > 0 {
		by = strings.Join(s.By, ",")
	}
	return fmt.Sprintf("%d of %d, by %s", s.Index, s.Total, by)
}
