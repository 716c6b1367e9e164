package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a receiver process the tool started. stop is safe to call more
// than once and from several goroutines.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done

	once    sync.Once
	stopErr error
}

// procs are the processes started by one run, so that every one is stopped
// on the way out, whatever the way.
type procs struct {
	mu  sync.Mutex
	all []*proc
}

// start runs bin with args in its own process group, its output going to
// logPath.
func (ps *procs) start(name, bin string, args []string, logPath string) (*proc, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create %s log: %w", name, err)
	}
	defer logFile.Close() // the child keeps its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	ps.mu.Lock()
	ps.all = append(ps.all, p)
	ps.mu.Unlock()
	return p, nil
}

// stopAll stops every process still running.
func (ps *procs) stopAll() error {
	ps.mu.Lock()
	all := ps.all
	ps.all = nil
	ps.mu.Unlock()
	var errs []error
	for _, p := range all {
		errs = append(errs, p.stop())
	}
	return errors.Join(errs...)
}

// stopGrace is how long a receiver may take to shut down after SIGTERM
// before it is killed.
const stopGrace = 30 * time.Second

// stop sends SIGTERM to the process group and waits for the process to
// exit, killing the group after stopGrace.
func (p *proc) stop() error {
	p.once.Do(func() {
		select {
		case <-p.done:
			return // already gone: its exit status was reported by whoever saw it
		default:
		}
		_ = signalGroup(p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopGrace):
			_ = signalGroup(p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
			p.stopErr = fmt.Errorf("stop %s: killed after %s without exiting on SIGTERM", p.name, stopGrace)
		}
	})
	return p.stopErr
}

// logTail returns the last lines of the process' output.
func (p *proc) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return "(empty)"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-15):], "\n")
}

// waitReady polls url until it answers 200, the process exits, ctx ends or
// timeout passes.
func (p *proc) waitReady(ctx context.Context, url string, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("build readiness request: %w", err)
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wait for %s to be ready at %s: not ready after %s; log:\n%s", p.name, url, timeout, p.logTail())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.done:
			return fmt.Errorf("wait for %s to be ready: it exited (%w); log:\n%s", p.name, p.waitErr, p.logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// firstLine runs bin with args and returns the first non-empty line it
// prints, for version strings.
func firstLine(ctx context.Context, bin string, args ...string) string {
	out, _ := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	for line := range bytes.Lines(out) {
		if s := strings.TrimSpace(string(line)); s != "" {
			return s
		}
	}
	return ""
}
