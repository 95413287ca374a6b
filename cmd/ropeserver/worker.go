package main

import "github.com/ropehq/rope/media/workerproc"

// A ropeserver started as a media worker process (workerproc.New with
// this binary as its command) serves that worker and nothing else.
func init() {
	if workerproc.IsWorkerMode() {
		workerproc.Main()
	}
}
