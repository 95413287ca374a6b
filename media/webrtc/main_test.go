package webrtc_test

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// watchdogAfter is how long the tests may run before the watchdog dumps
// every goroutine's stack and exits: a hang then shows where it is.
const watchdogAfter = 3 * time.Minute

func TestMain(m *testing.M) {
	flag.Parse()
	var wd *time.Timer
	if flag.Lookup("test.fuzz").Value.String() == "" && flag.Lookup("test.bench").Value.String() == "" {
		wd = time.AfterFunc(watchdogAfter, dumpAndExit)
	}
	code := m.Run()
	if wd != nil {
		wd.Stop()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func dumpAndExit() {
	buf := make([]byte, 1<<22)
	n := runtime.Stack(buf, true)
	fmt.Fprintf(os.Stderr, "watchdog: tests still running after %v\n%s", watchdogAfter, buf[:n])
	os.Exit(2)
}
