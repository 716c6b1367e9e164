//go:build race

package prophet_test

// raceEnabled is whether the race detector is on, which slows the fits
// about tenfold.
const raceEnabled = true
