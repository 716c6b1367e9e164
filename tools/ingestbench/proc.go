package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"time"
)

// stopGrace is how long a receiver may take to shut down after SIGTERM
// before it is killed.
const stopGrace = 30 * time.Second

// logLines is how much of a receiver's log an error quotes.
const logLines = 15

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
