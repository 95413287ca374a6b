//go:build !(linux && (amd64 || arm64))

package udpio

type batch struct{}

func (b *batch) init() {}

func (c *Conn) readBatch(ms []Message) (int, error) { return c.readOne(ms) }

type writeBatch struct{}

func (c *Conn) writeBatchConnected(bufs [][]byte) error {
	for _, b := range bufs {
		if err := c.Write(b); err != nil {
			return err
		}
	}
	return nil
}
