package broker

import (
	"crypto/tls"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// TCPListener is mochi's TCP listener with a Close that cannot deadlock. mochi v2.7.9 closes a
// listener's clients through Clients.GetByListener, which takes the clients' read lock twice
// (the second time through Len); a client attaching at that moment asks for the write lock in
// between, and Go's RWMutex then blocks the second read lock for ever — Server.Close hangs, and
// with it custodyd's shutdown (seen in our tests about once in thirty runs). This Close finds the
// listener's clients with one read lock (GetAll) instead.
func TCPListener(srv *mqtt.Server, id, address string, tlsCfg *tls.Config) listeners.Listener {
	return &tcpListener{TCP: listeners.NewTCP(listeners.Config{Type: "tcp", ID: id, Address: address, TLSConfig: tlsCfg}), srv: srv}
}

type tcpListener struct {
	*listeners.TCP
	srv *mqtt.Server
}

func (l *tcpListener) Close(listeners.CloseFn) {
	l.TCP.Close(func(id string) {
		for _, cl := range l.srv.Clients.GetAll() {
			if cl.Net.Listener == id && !cl.Closed() {
				_ = l.srv.DisconnectClient(cl, packets.ErrServerShuttingDown)
			}
		}
	})
}
