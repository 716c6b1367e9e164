//go:build unix && !linux

package proc

import (
	"os"
	"syscall"
)

// sysProcAttr puts a process in its own process group, so that a Ctrl-C
// at the terminal reaches only the tool, which then stops the receivers.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// signalGroup sends sig to the process pid.
func signalGroup(pid int, sig syscall.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Signal(sig)
}
