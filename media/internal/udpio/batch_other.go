//go:build !(linux && (amd64 || arm64))

package udpio

type batch struct{}

func (b *batch) init() {}

func (c *Conn) readBatch(ms []Message) (int, error) { return c.readOne(ms) }
