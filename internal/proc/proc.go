// Package proc starts and stops the helper processes of the project's tools
// (tools/ingestbench's receivers, tools/demo's Prometheus and adapter):
// each in its own process group, its output in a log file, stopped with
// SIGTERM and then killed.
package proc

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

// ErrPortTaken reports that a process exited because its port was taken
// between choosing it and listening on it: start it again on another.
var ErrPortTaken = errors.New("address already in use")

// Proc is a process a tool started. Stop is safe to call more than once
// and from several goroutines.
type Proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	grace   time.Duration
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done

	once    sync.Once
	stopErr error
}

// Start runs bin with args in its own process group, its output going to
// logPath. Stop waits grace after SIGTERM before it kills the group.
func Start(name, bin string, args []string, logPath string, grace time.Duration) (*Proc, error) {
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
	p := &Proc{name: name, cmd: cmd, logPath: logPath, grace: grace, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err returns how the process exited; valid once Done is closed.
func (p *Proc) Err() error { return p.waitErr }

// Stop sends SIGTERM to the process group and waits for the process to
// exit, killing the group after the grace Start was given. It returns an
// error when it had to kill.
func (p *Proc) Stop() error {
	p.once.Do(func() {
		select {
		case <-p.done:
			return // already gone: its exit status was reported by whoever saw it
		default:
		}
		_ = signalGroup(p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(p.grace):
			_ = signalGroup(p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
			p.stopErr = fmt.Errorf("stop %s: killed after %s without exiting on SIGTERM", p.name, p.grace)
		}
	})
	return p.stopErr
}

// LogTail returns the last n lines of the process's output.
func (p *Proc) LogTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return "(empty)"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// logLines is how much of its log an error about a process quotes.
const logLines = 20

// WaitReady polls url until it answers 200, the process exits, ctx ends or
// timeout passes. A process that exited because its port was taken gives
// an error wrapping ErrPortTaken.
func (p *Proc) WaitReady(ctx context.Context, url string, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
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
			return fmt.Errorf("wait for %s to be ready at %s: not ready after %s; log:\n%s", p.name, url, timeout, p.LogTail(logLines))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.done:
			tail := p.LogTail(logLines)
			if strings.Contains(tail, ErrPortTaken.Error()) {
				return fmt.Errorf("%s exited: %w; log:\n%s", p.name, ErrPortTaken, tail)
			}
			return fmt.Errorf("wait for %s to be ready: it exited (%w); log:\n%s", p.name, p.waitErr, tail)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Group holds the processes started by one run, so that every one is
// stopped on the way out, whatever the way.
type Group struct {
	mu  sync.Mutex
	all []*Proc
}

// Start is Start, keeping the process in g.
func (g *Group) Start(name, bin string, args []string, logPath string, grace time.Duration) (*Proc, error) {
	p, err := Start(name, bin, args, logPath, grace)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.all = append(g.all, p)
	g.mu.Unlock()
	return p, nil
}

// StopAll stops every process of g still running.
func (g *Group) StopAll() error {
	g.mu.Lock()
	all := g.all
	g.all = nil
	g.mu.Unlock()
	var errs []error
	for _, p := range all {
		errs = append(errs, p.Stop())
	}
	return errors.Join(errs...)
}

// PickPort returns want when it is free on 127.0.0.1, else (or when want
// is 0) a port that was free a moment ago.
func PickPort(want int) (int, error) {
	if want > 0 {
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", want)); err == nil {
			_ = l.Close()
			return want, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
