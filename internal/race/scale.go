// Package race tells tests whether the race detector is built in.
//
// Property tests that run one goroutine over many random inputs give the
// race detector nothing to find, and under it they run ten to twenty
// times slower (modernc.org/sqlite's transpiled C is instrumented too).
// They run their full count in a plain `go test ./...` and a tenth of it
// in the race run, which is there to catch races.
package race

// Scale returns n, or n/10 (at least 1) under the race detector.
func Scale(n int) int {
	if Enabled {
		return max(1, n/10)
	}
	return n
}
