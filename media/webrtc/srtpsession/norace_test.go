//go:build !race

package srtpsession

const raceEnabled = false
