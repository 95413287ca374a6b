package conformance

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/coder/websocket"
	"github.com/ropehq/rope/rope"
)

// Target is the server under test.
type Target struct {
	// URL is the WebSocket URL clients connect to (ws: or wss:).
	URL string
	// Token is the bearer token the target requires. Empty means the suite
	// assumes none is required and skips the cases that need one.
	Token string
	// MaxDrive bounds how many notifications a case may cause to get past
	// the replay window (§7.2.1). Default 250000.
	MaxDrive int
}

func (tg *Target) maxDrive() int {
	if tg.MaxDrive > 0 {
		return tg.MaxDrive
	}
	return 250000
}

// DialOptions change how a peer connects. The zero value offers rope.v1 and
// presents the target's token in the Authorization header.
type DialOptions struct {
	// Subprotocols offered; nil offers rope.v1. See NoSubprotocol.
	Subprotocols []string
	// NoSubprotocol sends no Sec-WebSocket-Protocol header at all.
	NoSubprotocol bool
	// NoToken presents no token even if the target has one.
	NoToken bool
	// Header adds request headers (after the token).
	Header http.Header
	// Query adds query parameters to the target URL.
	Query url.Values
	// RawQuery is appended to the query as written, after Query: for
	// queries url.Values cannot write (a raw "+", a repeated key in a
	// given order).
	RawQuery string
}

func (tg *Target) dialURL(q url.Values, raw string) (string, error) {
	u, err := url.Parse(tg.URL)
	if err != nil {
		return "", fmt.Errorf("target URL: %w", err)
	}
	all := u.Query()
	for k, vs := range q {
		all[k] = append(all[k], vs...)
	}
	u.RawQuery = all.Encode()
	if raw != "" {
		if u.RawQuery != "" {
			u.RawQuery += "&"
		}
		u.RawQuery += raw
	}
	return u.String(), nil
}

func (tg *Target) wsOptions(o DialOptions) *websocket.DialOptions {
	h := http.Header{}
	if tg.Token != "" && !o.NoToken {
		h.Set("Authorization", "Bearer "+tg.Token)
	}
	for k, vs := range o.Header {
		h[http.CanonicalHeaderKey(k)] = slices.Clone(vs)
	}
	subs := o.Subprotocols
	if subs == nil && !o.NoSubprotocol {
		subs = []string{rope.Subprotocol}
	}
	return &websocket.DialOptions{HTTPHeader: h, Subprotocols: subs}
}

// handshake dials the target; on a refused handshake it returns the HTTP
// response and the error.
func (tg *Target) handshake(ctx context.Context, o DialOptions) (*websocket.Conn, *http.Response, error) {
	u, err := tg.dialURL(o.Query, o.RawQuery)
	if err != nil {
		return nil, nil, err
	}
	ws, resp, err := websocket.Dial(ctx, u, tg.wsOptions(o))
	if err != nil {
		return nil, resp, fmt.Errorf("dial %s: %w", u, err)
	}
	ws.SetReadLimit(rope.ClientReadLimit)
	return ws, resp, nil
}

// describeHandshake tells what a dial sends, with the target's token
// redacted, for the report.
func (tg *Target) describeHandshake(o DialOptions) string {
	u, err := tg.dialURL(o.Query, o.RawQuery)
	if err != nil {
		u = tg.URL
	}
	wo := tg.wsOptions(o)
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s", u)
	if len(wo.Subprotocols) > 0 {
		fmt.Fprintf(&b, "\nSec-WebSocket-Protocol: %s", strings.Join(wo.Subprotocols, ", "))
	}
	for _, k := range slices.Sorted(maps.Keys(wo.HTTPHeader)) {
		fmt.Fprintf(&b, "\n%s: %s", k, strings.Join(wo.HTTPHeader[k], ", "))
	}
	s := b.String()
	if tg.Token != "" {
		s = strings.ReplaceAll(s, tg.Token, "<token>")
	}
	return s
}
