package mafalda

import "errors"

// ErrNoWorker: a MafaldaRouter found no worker to place an object on
// (its MaxWorkers is 0 and no other MafaldaRouter started one). It comes
// together with media.ErrInvalidState.
var ErrNoWorker = errors.New("mafalda: no worker available")
