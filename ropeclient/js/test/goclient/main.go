// Command goclient is the Go side of the JS client's browser test: a minimal
// raw ROPE v1 client (coder/websocket and the rope wire package) that calls
// Counter.increment on one object and prints the result.
//
//	goclient ws://127.0.0.1:PORT/ COUNTER_ID [BY]
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/coder/websocket"
	"github.com/ropehq/rope/rope"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: goclient URL COUNTER_ID [BY]")
		os.Exit(2)
	}
	by := 1
	if len(os.Args) > 3 {
		n, err := strconv.Atoi(os.Args[3])
		if err != nil {
			fmt.Fprintln(os.Stderr, "goclient: BY:", err)
			os.Exit(2)
		}
		by = n
	}
	result, err := increment(os.Args[1], os.Args[2], by)
	if err != nil {
		fmt.Fprintln(os.Stderr, "goclient:", err)
		os.Exit(1)
	}
	fmt.Println(string(result))
}

// increment connects, waits for rope.init, calls increment and returns its
// result.
func increment(url, id string, by int) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{rope.Subprotocol}})
	if err != nil {
		return nil, err
	}
	defer ws.CloseNow()
	ws.SetReadLimit(rope.ClientReadLimit)
	if ws.Subprotocol() != rope.Subprotocol {
		return nil, fmt.Errorf("server selected subprotocol %q", ws.Subprotocol())
	}
	if _, err := read(ctx, ws); err != nil { // rope.init
		return nil, err
	}
	params, err := json.Marshal(rope.CallParams{Object: id, Method: "increment", Params: json.RawMessage(fmt.Sprintf(`{"by":%d}`, by))})
	if err != nil {
		return nil, err
	}
	if err := ws.Write(ctx, websocket.MessageText, rope.AppendRequest(nil, rope.ID("1"), rope.MethodCall, params)); err != nil {
		return nil, err
	}
	for {
		m, err := read(ctx, ws)
		if err != nil {
			return nil, err
		}
		if m.IsRequest() || string(m.ID) != "1" {
			continue // notifications
		}
		if m.Error != nil {
			return nil, m.Error
		}
		ws.Close(websocket.StatusNormalClosure, "")
		return m.Result, nil
	}
}

func read(ctx context.Context, ws *websocket.Conn) (*rope.Message, error) {
	_, data, err := ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	m, _, rerr := rope.Decode(data)
	if rerr != nil {
		return nil, rerr
	}
	return m, nil
}
