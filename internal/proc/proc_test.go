package proc

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestStartStop(t *testing.T) {
	dir := t.TempDir()
	// A process that ignores nothing: SIGTERM ends it at once.
	p, err := Start("sleeper", "/bin/sh", []string{"-c", "echo one; echo two; exec sleep 60"}, filepath.Join(dir, "sleeper.log"), 5*time.Second)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return p.LogTail(1) == "two" }, 5*time.Second, 10*time.Millisecond)
	require.Equal(t, "one\ntwo", p.LogTail(5))
	start := time.Now()
	require.NoError(t, p.Stop())
	require.Less(t, time.Since(start), 5*time.Second, "SIGTERM, not the kill after the grace")
	<-p.Done()
	require.Error(t, p.Err(), "ended by a signal")
	require.NoError(t, p.Stop(), "twice is fine")

	// A process that ignores SIGTERM is killed after the grace, and says so.
	q, err := Start("stubborn", "/bin/sh", []string{"-c", "trap '' TERM; sleep 60 & wait"}, filepath.Join(dir, "stubborn.log"), 200*time.Millisecond)
	require.NoError(t, err)
	time.Sleep(100 * time.Millisecond)
	require.ErrorContains(t, q.Stop(), "killed after 200ms")
}

func TestWaitReadyExited(t *testing.T) {
	dir := t.TempDir()
	p, err := Start("taken", "/bin/sh", []string{"-c", "echo 'listen tcp: bind: address already in use'; exit 1"}, filepath.Join(dir, "taken.log"), time.Second)
	require.NoError(t, err)
	err = p.WaitReady(context.Background(), "http://127.0.0.1:1/-/ready", 10*time.Second)
	require.ErrorIs(t, err, ErrPortTaken)

	var g Group
	q, err := g.Start("other", "/bin/sh", []string{"-c", "echo broken; exit 3"}, filepath.Join(dir, "other.log"), time.Second)
	require.NoError(t, err)
	err = q.WaitReady(context.Background(), "http://127.0.0.1:1/-/ready", 10*time.Second)
	require.ErrorContains(t, err, "it exited (exit status 3)")
	require.ErrorContains(t, err, "broken")
	require.NoError(t, g.StopAll())
}

func TestPickPort(t *testing.T) {
	free, err := PickPort(0)
	require.NoError(t, err)
	got, err := PickPort(free)
	require.NoError(t, err)
	require.Equal(t, free, got, "the wanted port when free")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	got, err = PickPort(taken)
	require.NoError(t, err)
	require.NotEqual(t, taken, got, "another port when taken")
}
