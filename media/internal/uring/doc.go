// Package uring sends batches of UDP datagrams on many sockets with one
// system call, through an io_uring submission ring (Linux).
//
// A forwarding worker's fan-out sends one datagram per consumer socket per
// incoming packet; at conference rates each is a system call of its own
// (sendmmsg of one message), and on this project's VMs the system call
// itself costs about as much as the kernel's UDP send behind it. A Ring
// queues the sends of one turn (Add) and hands them to the kernel at once
// (Submit), which runs each inline and reports each result. Sends are
// non-blocking (MSG_DONTWAIT): a full socket buffer is a result of
// -EAGAIN, left to the caller, never a wait.
//
// A Ring is not safe for concurrent use: it belongs to one event loop.
package uring
