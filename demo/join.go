package demo

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/google/uuid"
	"github.com/ropehq/rope/rope"
)

// MaxJoinBody bounds the body of a join request, in bytes.
const MaxJoinBody = 1 << 10

// JoinOptions configure JoinHandler. Nil means: no token minted, every
// request allowed.
type JoinOptions struct {
	// Mint, when set, returns a participant token for the room whose
	// router is routerID, for subject (a new random id per request, so
	// that no browser can claim another's objects): the page then talks
	// to the media server with it, seeing that room only
	// (ropeauth.Participant). Nil: the endpoint returns no token (the
	// server needs none, or the page brings its own).
	Mint func(routerID, subject string) (string, error)
	// Allow, when set, must pass for a request to be served (401
	// otherwise): a server whose only credential is a shared operator
	// token asks for it here too.
	Allow func(r *http.Request) bool
}

// JoinHandler is the demo's app part, what an application server does
// for its browsers: POST {"room": name} finds or creates the room and
// answers a JoinResult, with a participant token for it when
// JoinOptions.Mint is set. Mount it at the page's "join" path. Errors
// answer 400 (bad request or room name), 405, 401 (Allow), 503 (no room
// more may open) or 500, with the message as text.
func (r *Rooms) JoinHandler(opts *JoinOptions) http.Handler {
	var o JoinOptions
	if opts != nil {
		o = *opts
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if o.Allow != nil && !o.Allow(req) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="rope"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var p JoinParams
		dec := json.NewDecoder(io.LimitReader(req.Body, MaxJoinBody))
		if err := dec.Decode(&p); err != nil {
			http.Error(w, "join: want {\"room\": name}: "+err.Error(), http.StatusBadRequest)
			return
		}
		res, err := r.Join(req.Context(), p.Room)
		if err != nil {
			http.Error(w, err.Error(), joinStatus(err))
			return
		}
		if o.Mint != nil {
			if res.Token, err = o.Mint(res.RouterID, uuid.NewString()); err != nil {
				r.log.Error("demo: minting a participant token", "room", p.Room, "err", err)
				http.Error(w, "internal error", http.StatusInternalServerError)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(res)
	})
}

func joinStatus(err error) int {
	var re *rope.Error
	if !errors.As(err, &re) {
		return http.StatusInternalServerError
	}
	switch re.Code {
	case rope.CodeInvalidParams:
		return http.StatusBadRequest
	case rope.CodeInvalidState:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
