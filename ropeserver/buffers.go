package ropeserver

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
)

// Sizes of a connection's I/O buffers. net/http gives a hijacked
// connection 4 KiB each way; most ROPE messages are far smaller, larger
// ones are read and written past the buffer, and an idle connection keeps
// its buffers, so small ones make the connection cheap.
const (
	connReadBuffer  = 1024
	connWriteBuffer = 1024
)

// smallBuffers is the ResponseWriter handed to websocket.Accept: its
// Hijack gives the WebSocket small buffers of its own instead of net/http's,
// which are freed when the handler returns.
type smallBuffers struct{ http.ResponseWriter }

func (w smallBuffers) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("ropeserver: hijack: %w", err)
	}
	if n := brw.Writer.Buffered(); n > 0 {
		if err := brw.Writer.Flush(); err != nil {
			nc.Close()
			return nil, nil, err
		}
	}
	// Bytes the client sent right after its handshake stay buffered:
	// websocket.Accept reads them from the returned reader's buffer.
	ahead, _ := brw.Reader.Peek(brw.Reader.Buffered())
	br := bufio.NewReaderSize(bytes.NewReader(bytes.Clone(ahead)), max(connReadBuffer, len(ahead)))
	if _, err := br.Peek(len(ahead)); err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("ropeserver: hijack: %w", err)
	}
	return nc, bufio.NewReadWriter(br, bufio.NewWriterSize(nc, connWriteBuffer)), nil
}
