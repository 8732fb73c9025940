//go:build !race

package objectio

const raceEnabled = false
