package ropeserver

import (
	"context"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/ropehq/rope/rope"
)

// writeLoop is a connection's writer: it writes what is queued until the
// queue is empty, or closes the connection when the queue says so. Writes
// carry no deadline of their own: a write blocked by a peer that does not
// read is ended by the keepalive, or by the grace timer once the
// connection is being closed.
func (c *Conn) writeLoop() {
	var spare [][]byte
	for {
		msgs, act, req := c.queue.take(spare)
		switch act {
		case takeIdle:
			return
		case takeOverflow:
			n, b, _ := c.queue.queued()
			c.logger().Warn("ropeserver: closing slow connection", "queued", n, "queuedBytes", b)
			_ = c.ws.Close(rope.CloseSlowConsumer, "slow consumer: send queue overflow")
			return
		case takeClose:
			_ = c.ws.Close(req.code, req.reason)
			return
		}
		if err := c.writeBatch(msgs); err != nil {
			c.logger().Debug("ropeserver: write failed", "err", err)
			c.ws.CloseNow()
			c.queue.fail()
			return
		}
		clear(msgs)
		spare = msgs
	}
}

// writeBatch writes what one take returned, stopping early when the
// connection is to be closed: the close frame then follows the message
// being written.
func (c *Conn) writeBatch(msgs [][]byte) error {
	for _, m := range msgs {
		if c.queue.stop.Load() {
			return nil
		}
		// A context that is never done costs coder/websocket no timer.
		err := c.ws.Write(context.Background(), websocket.MessageText, m)
		c.queue.written(len(m))
		if err != nil {
			return err
		}
	}
	return nil
}

// closeWith asks the writer to close the connection with code once the
// message it is writing is out; if that takes longer than WriteTimeout
// (a peer that does not read), the connection is dropped.
func (c *Conn) closeWith(code websocket.StatusCode, reason string) {
	if c.queue.closeWith(code, reason) {
		c.armGrace()
	}
}

// push queues msg for the connection.
func (c *Conn) push(msg []byte) {
	if c.queue.push(msg) {
		c.armGrace()
	}
}

// armGrace starts the timer that drops the connection if its close frame
// cannot get out within WriteTimeout.
func (c *Conn) armGrace() {
	c.grace.schedule(c.srv.opts.WriteTimeout, func() {
		c.logger().Info("ropeserver: close frame stuck behind unread data, dropping connection")
		c.ws.CloseNow()
	})
}

// startPing schedules the keepalive: one ping per PingInterval, each in a
// goroutine that lasts until its pong (no goroutine between pings).
func (c *Conn) startPing(ctx context.Context) {
	if c.srv.opts.PingInterval <= 0 {
		return
	}
	var ping func()
	ping = func() {
		pctx, cancel := context.WithTimeout(ctx, c.srv.opts.PongTimeout)
		err := c.ws.Ping(pctx)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				c.logger().Info("ropeserver: keepalive failed, closing", "err", err)
				c.ws.CloseNow()
			}
			return
		}
		c.ping.schedule(c.srv.opts.PingInterval, ping)
	}
	c.ping.schedule(c.srv.opts.PingInterval, ping)
}

// connTimer runs a function once after a delay, in a goroutine it owns:
// stop prevents later runs and waits for one in progress. It costs a timer,
// not a goroutine, while it waits.
type connTimer struct {
	running sync.WaitGroup

	// mu guards the fields below.
	mu      sync.Mutex
	t       *time.Timer
	fn      func()
	stopped bool
}

// schedule runs fn after d, replacing what was scheduled; it does nothing
// once the timer is stopped.
func (ct *connTimer) schedule(d time.Duration, fn func()) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if ct.stopped {
		return
	}
	ct.fn = fn
	if ct.t != nil {
		ct.t.Reset(d)
		return
	}
	ct.t = time.AfterFunc(d, ct.fire)
}

func (ct *connTimer) fire() {
	ct.mu.Lock()
	if ct.stopped {
		ct.mu.Unlock()
		return
	}
	fn := ct.fn
	ct.running.Add(1)
	ct.mu.Unlock()
	defer ct.running.Done()
	fn()
}

// stop cancels what is scheduled and waits for a run in progress.
func (ct *connTimer) stop() {
	ct.mu.Lock()
	ct.stopped = true
	if ct.t != nil {
		ct.t.Stop()
	}
	ct.mu.Unlock()
	ct.running.Wait()
}
