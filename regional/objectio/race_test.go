//go:build race

package objectio

// raceEnabled: the race detector multiplies memory and time; the memory
// bound test skips under it.
const raceEnabled = true
