//go:build race

package server

// raceEnabled: the race detector slows the server about tenfold, so time
// bounds do not apply.
const raceEnabled = true
