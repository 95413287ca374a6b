package ropeserver

import (
	"testing"
)

// BenchmarkPublishFanout1000 measures the server's side of one change
// reaching 1,000 connections: encoding, the replay ring and the decision
// and queueing per connection, without the sockets (the queues are held,
// so no writer runs). "views-half-out": every connection has a view (spec
// §18), half of them without the changing object.
func BenchmarkPublishFanout1000(b *testing.B) {
	const conns = 1000
	for _, mode := range []string{"no-grants", "views-half-out", "views-all-in"} {
		b.Run(mode, func(b *testing.B) {
			s := New(&Options{SendQueueLimit: 1 << 30, SendQueueBytes: 1 << 40})
			if err := s.RegisterType(Type{Name: "T", Properties: []string{"v"}}); err != nil {
				b.Fatal(err)
			}
			o, err := s.Create("T", &ObjectOptions{ID: "o"})
			if err != nil {
				b.Fatal(err)
			}
			in := &Grant{Subject: "in", Roots: []string{"o"}}
			out := &Grant{Subject: "out", Roots: []string{"elsewhere"}}
			var all []*Conn
			s.mu.Lock()
			for i := range conns {
				c := &Conn{srv: s}
				c.queue = newSendQueue(1<<30, 1<<40, func() {})
				switch {
				case mode == "views-half-out" && i%2 == 1:
					c.grant = out
				case mode != "no-grants":
					c.grant = in
				}
				s.conns[c] = struct{}{}
				if c.grant != nil {
					c.view = newView(c, s.epoch)
					c.view.fill(s, false)
					s.views[c] = struct{}{}
					s.addRootsLocked(c)
				} else {
					s.full[c] = struct{}{}
				}
				all = append(all, c)
			}
			s.mu.Unlock()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if err := o.SetProp("v", i); err != nil {
					b.Fatal(err)
				}
				if i%256 == 0 {
					b.StopTimer()
					for _, c := range all {
						c.queue.mu.Lock()
						clear(c.queue.msgs)
						c.queue.msgs = c.queue.msgs[:0]
						c.queue.count, c.queue.bytes = 0, 0
						c.queue.mu.Unlock()
					}
					b.StartTimer()
				}
			}
		})
	}
}

// BenchmarkCreateClose1000Views measures what a creation and a close cost
// the server with 1,000 connections, none with a view or all with one
// (half of them seeing the object): a creation asks every view whether it
// sees the object.
func BenchmarkCreateClose1000Views(b *testing.B) {
	const conns = 1000
	for _, mode := range []string{"no-grants", "views-half-out"} {
		b.Run(mode, func(b *testing.B) {
			s := New(&Options{SendQueueLimit: 1 << 30, SendQueueBytes: 1 << 40})
			if err := s.RegisterType(Type{Name: "T", Properties: []string{"v"}}); err != nil {
				b.Fatal(err)
			}
			parent, err := s.Create("T", &ObjectOptions{ID: "p"})
			if err != nil {
				b.Fatal(err)
			}
			in := &Grant{Subject: "in", Roots: []string{"p"}, Hide: map[string]Hide{"U": HideOthers}}
			out := &Grant{Subject: "out", Roots: []string{"elsewhere"}}
			var all []*Conn
			s.mu.Lock()
			for i := range conns {
				c := &Conn{srv: s}
				c.queue = newSendQueue(1<<30, 1<<40, func() {})
				s.conns[c] = struct{}{}
				all = append(all, c)
				if mode == "no-grants" {
					s.full[c] = struct{}{}
					continue
				}
				c.grant = in
				if i%2 == 1 {
					c.grant = out
				}
				c.view = newView(c, s.epoch)
				c.view.fill(s, false)
				s.views[c] = struct{}{}
				s.addRootsLocked(c)
			}
			s.mu.Unlock()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				o, err := s.Create("T", &ObjectOptions{Parent: parent})
				if err != nil {
					b.Fatal(err)
				}
				o.Close()
				if i%128 == 0 {
					b.StopTimer()
					for _, c := range all {
						c.queue.mu.Lock()
						clear(c.queue.msgs)
						c.queue.msgs = c.queue.msgs[:0]
						c.queue.count, c.queue.bytes = 0, 0
						c.queue.mu.Unlock()
					}
					b.StartTimer()
				}
			}
		})
	}
}
