package conformance_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"

	"github.com/ropehq/rope/conformance"
	"github.com/ropehq/rope/ropeserver"
	"github.com/ropehq/rope/ropeserver/fixture"
)

// Run the ordering-rule and resume cases against a server with the fixture.
func ExampleRun() {
	srv := ropeserver.New(&ropeserver.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if _, err := fixture.Register(srv); err != nil {
		panic(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()

	target := &conformance.Target{URL: "ws" + strings.TrimPrefix(hs.URL, "http") + "/"}
	rep, err := conformance.Run(context.Background(), target, &conformance.Options{
		Cases: []string{"rope/6.7.*", "rope/7.3.*"},
	})
	if err != nil {
		panic(err)
	}
	for _, c := range rep.Cases {
		fmt.Println(c.ID, c.Level, c.Result)
	}
	fmt.Println("failed:", rep.Failed())
	// Output:
	// rope/6.7.1/1 MUST pass
	// rope/7.3.1/1 MUST pass
	// rope/7.3.2/1 MUST pass
	// failed: false
}
