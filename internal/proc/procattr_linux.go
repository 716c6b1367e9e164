package proc

import "syscall"

// sysProcAttr puts a process in its own process group, so that a Ctrl-C
// at the terminal reaches only the tool, which then stops the receivers in
// order, and has the kernel kill it if the tool dies without cleaning up.
// NOTE: Pdeathsig fires when the starting OS thread exits; Go keeps its
// threads unless a goroutine dies locked to one, which this tool never does.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// signalGroup sends sig to the process group led by pid.
func signalGroup(pid int, sig syscall.Signal) error { return syscall.Kill(-pid, sig) }
