package conformance

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/ropehq/rope/rope"
)

func handshakeCases() []*Case {
	return []*Case{
		{ID: "rope/2.2.2/1", Level: MUST,
			Title:  "offered a list containing rope.v1, the server MUST accept and select rope.v1",
			Expect: "handshake accepted with Sec-WebSocket-Protocol: rope.v1, then rope.init",
			Run: func(t *T) {
				p := t.Dial("a", DialOptions{Subprotocols: []string{"chat", rope.Subprotocol}})
				if got := p.Subprotocol(); got != rope.Subprotocol {
					t.Fatalf("selected subprotocol %q, want %q", got, rope.Subprotocol)
				}
				p.Init()
			}},
		{ID: "rope/2.2.2/2", Level: MUST,
			Title:  "with no Sec-WebSocket-Protocol header the server MUST accept, with no subprotocol; the connection speaks rope.v1",
			Expect: "handshake accepted without Sec-WebSocket-Protocol, then rope.init with protocol rope.v1",
			Run: func(t *T) {
				p := t.Dial("a", DialOptions{NoSubprotocol: true})
				if got := subprotocolOf(p.HTTPResponse); got != "" {
					t.Fatalf("server selected %q, want no Sec-WebSocket-Protocol header", got)
				}
				if in := p.Init(); in.Protocol != rope.Protocol {
					t.Fatalf("rope.init protocol %q, want %q", in.Protocol, rope.Protocol)
				}
			}},
		{ID: "rope/2.2.2/4", Level: MUST,
			Title:  "a Sec-WebSocket-Protocol header that is present but empty offers nothing: accepted as without the header, no subprotocol",
			Expect: `handshakes with Sec-WebSocket-Protocol "" and "," accepted without Sec-WebSocket-Protocol in the response, then rope.init`,
			Run:    runEmptySubprotocolHeader},
		{ID: "rope/2.2.2/3", Level: MUST,
			Title:  "offered a non-empty list without rope.v1, the server MUST refuse the handshake with HTTP 400",
			Expect: "HTTP 400, no upgrade; other connections unaffected (§2.3.2)",
			Run: func(t *T) {
				a, _ := t.Connect("a")
				expectRefused(t, DialOptions{Subprotocols: []string{"chat", "rope.v2"}}, http.StatusBadRequest)
				a.Barrier()
			}},
	}
}

func runEmptySubprotocolHeader(t *T) {
	for _, v := range []string{"", ","} {
		p, err := t.TryDial("empty", DialOptions{NoSubprotocol: true, Header: http.Header{"Sec-WebSocket-Protocol": {v}}})
		if err != nil {
			t.Fatalf("Sec-WebSocket-Protocol %q: %v, want the handshake accepted", v, err)
		}
		if got := subprotocolOf(p.HTTPResponse); got != "" {
			t.Fatalf("Sec-WebSocket-Protocol %q: server selected %q, want no Sec-WebSocket-Protocol header", v, got)
		}
		if in := p.Init(); in.Protocol != rope.Protocol {
			t.Fatalf("rope.init protocol %q, want %q", in.Protocol, rope.Protocol)
		}
		p.Drop()
	}
}

// expectRefused dials and fails the case unless the handshake is refused
// with the status; it returns the refusal's response.
func expectRefused(t *T, o DialOptions, status int) *http.Response {
	p, err := t.TryDial("refused", o)
	if err == nil {
		p.Drop()
		t.Fatalf("handshake accepted (subprotocol %q), want HTTP %d", p.Subprotocol(), status)
	}
	if p.HTTPResponse == nil {
		t.Fatalf("handshake failed without an HTTP response (%v), want HTTP %d", err, status)
	}
	if p.HTTPResponse.StatusCode != status {
		t.Fatalf("handshake refused with HTTP %d, want %d", p.HTTPResponse.StatusCode, status)
	}
	return p.HTTPResponse
}

func needToken(t *T) string {
	if t.target.Token == "" {
		t.Skipf("the target's token is not known (run with --token): auth cases need a server that requires one")
	}
	return t.target.Token
}

func expect401(t *T, o DialOptions) {
	o.NoToken = true
	resp := expectRefused(t, o, http.StatusUnauthorized)
	if h := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(strings.ToLower(h), "bearer") {
		t.Fatalf("WWW-Authenticate %q, want the Bearer scheme", h)
	}
}

func bearer(v string) http.Header { return http.Header{"Authorization": {v}} }

func query(tok string) url.Values { return url.Values{rope.QueryToken: {tok}} }

func runQueryPlus(t *T) {
	tok := needToken(t)
	escaped := url.QueryEscape(tok) // a space as +, a plus as %2B
	switch {
	case strings.Contains(tok, "+"):
		t.Dial("escaped", DialOptions{NoToken: true, RawQuery: rope.QueryToken + "=" + escaped}).Init()
		raw := strings.ReplaceAll(escaped, "%2B", "+")
		expect401(t, DialOptions{RawQuery: rope.QueryToken + "=" + raw})
	case strings.Contains(tok, " "):
		t.Dial("plus", DialOptions{NoToken: true, RawQuery: rope.QueryToken + "=" + escaped}).Init()
		t.Dial("percent", DialOptions{NoToken: true, RawQuery: rope.QueryToken + "=" + strings.ReplaceAll(escaped, "+", "%20")}).Init()
	default:
		t.Skipf("the token holds no + and no space")
	}
}

func authCases() []*Case {
	return []*Case{
		{ID: "rope/4.1.1/1", Level: MUST,
			Title:  "the client sends the token as Authorization: Bearer <token> or as the query parameter access_token",
			Expect: "both ways accepted when the token is valid",
			Run: func(t *T) {
				tok := needToken(t)
				t.Dial("header", DialOptions{NoToken: true, Header: bearer("Bearer " + tok)}).Init()
				t.Dial("query", DialOptions{NoToken: true, Query: query(tok)}).Init()
			}},
		{ID: "rope/4.1.2/1", Level: MUST,
			Title:  "the server MUST accept the auth scheme Bearer case-insensitively",
			Expect: "Authorization: bearer <token> and BEARER <token> accepted",
			Run: func(t *T) {
				tok := needToken(t)
				for _, scheme := range []string{"bearer", "BEARER"} {
					p, err := t.TryDial(scheme, DialOptions{NoToken: true, Header: bearer(scheme + " " + tok)})
					if err != nil {
						t.Fatalf("Authorization: %s <token> refused: %v", scheme, err)
					}
					p.Init()
				}
			}},
		{ID: "rope/4.2.1/1", Level: MUST,
			Title:  "if the server requires a token, a handshake without one MUST be refused with 401 and WWW-Authenticate: Bearer",
			Expect: "HTTP 401 with WWW-Authenticate: Bearer",
			Run: func(t *T) {
				needToken(t)
				expect401(t, DialOptions{})
			}},
		{ID: "rope/4.2.1/2", Level: MUST,
			Title:  "a wrong token (header or access_token) MUST be refused with 401",
			Expect: "HTTP 401 for a wrong header token and for a wrong query token",
			Run: func(t *T) {
				tok := needToken(t)
				expect401(t, DialOptions{Header: bearer("Bearer " + tok + "-wrong")})
				expect401(t, DialOptions{Query: query(tok + "-wrong")})
			}},
		{ID: "rope/4.2.1/3", Level: MUST,
			Title:  "every presented token must be valid: a header and a query token of which one is wrong MUST get 401",
			Expect: "HTTP 401 when the header is right and the query token wrong, and vice versa",
			Run: func(t *T) {
				tok := needToken(t)
				expect401(t, DialOptions{Header: bearer("Bearer " + tok), Query: query(tok + "-wrong")})
				expect401(t, DialOptions{Header: bearer("Bearer " + tok + "-wrong"), Query: query(tok)})
			}},
		{ID: "rope/4.2.1/4", Level: MUST,
			Title:  "a malformed Authorization header MUST get 401",
			Expect: "HTTP 401 for Authorization: Basic … next to a valid access_token",
			Run: func(t *T) {
				tok := needToken(t)
				expect401(t, DialOptions{Header: bearer("Basic dXNlcjpwYXNz"), Query: query(tok)})
			}},
		{ID: "rope/4.1.3/1", Level: MUST,
			Title:  "an Authorization header other than Bearer, one space and a non-empty token is malformed and MUST get 401",
			Expect: `HTTP 401 for "Bearer", "Basic …", the bare token, "Bearer<token>" and "Token <token>", each next to a valid access_token`,
			Run: func(t *T) {
				tok := needToken(t)
				for _, v := range []string{"Bearer", "Basic dXNlcjpwYXNz", tok, "Bearer" + tok, "Token " + tok} {
					expect401(t, DialOptions{Header: bearer(v), Query: query(tok)})
				}
			}},
		{ID: "rope/4.1.3/2", Level: MUST,
			Title:  "every Authorization header is a presented token: two headers of which one is wrong MUST get 401",
			Expect: "HTTP 401 for a right and a wrong Authorization header, in either order; two right ones accepted",
			Run: func(t *T) {
				tok := needToken(t)
				right, wrong := "Bearer "+tok, "Bearer "+tok+"-wrong"
				expect401(t, DialOptions{Header: http.Header{"Authorization": {right, wrong}}})
				expect401(t, DialOptions{Header: http.Header{"Authorization": {wrong, right}}})
				t.Dial("both-right", DialOptions{NoToken: true, Header: http.Header{"Authorization": {right, right}}}).Init()
			}},
		{ID: "rope/4.1.3/3", Level: MUST,
			Title:  "every access_token value is a presented token: two of which one is wrong MUST get 401",
			Expect: "HTTP 401 for ?access_token=<right>&access_token=<wrong> and the reverse; two right ones accepted",
			Run: func(t *T) {
				tok := needToken(t)
				expect401(t, DialOptions{Query: url.Values{rope.QueryToken: {tok, tok + "-wrong"}}})
				expect401(t, DialOptions{Query: url.Values{rope.QueryToken: {tok + "-wrong", tok}}})
				t.Dial("both-right", DialOptions{NoToken: true, Query: url.Values{rope.QueryToken: {tok, tok}}}).Init()
			}},
		{ID: "rope/4.4.2/1", Level: MUST,
			Title:  "the query is application/x-www-form-urlencoded: + is a space, %2B a plus",
			Expect: "a token with a plus sent as %2B accepted, sent as a raw + (a space) refused with 401 (skipped unless the token holds a + or a space)",
			Run:    runQueryPlus},
		{ID: "rope/4.4.1/1", Level: MUST,
			Title:  "the server MUST ignore query parameters other than access_token, epoch and seq",
			Expect: "handshake with ?foo=bar&x= accepted, full snapshot",
			Run: func(t *T) {
				in := t.Dial("a", DialOptions{Query: url.Values{"foo": {"bar"}, "x": {""}}}).Init()
				if in.Resumed {
					t.Fatalf("resumed without a resume request")
				}
			}},
		{ID: "rope/4.2.2/1", Level: MUST,
			Title:  "a server that does not require a token ignores presented tokens",
			Expect: "handshake with an arbitrary token accepted",
			Run: func(t *T) {
				if t.target.Token != "" {
					t.Skipf("the target requires a token")
				}
				t.Dial("a", DialOptions{Header: bearer("Bearer whatever"), Query: query("whatever")}).Init()
			}},
	}
}
