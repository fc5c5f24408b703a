//go:build race

package audit

// raceEnabled: the race detector instruments memory accesses and changes what escapes to the
// heap, so allocation counts are not the code's under -race.
const raceEnabled = true
