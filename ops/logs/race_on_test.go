//go:build race

package logs

// raceOn: the race detector slows a regexp per line twentyfold; tests that
// compare with a line-by-line reference use smaller data under it.
const raceOn = true
