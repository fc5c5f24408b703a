package mqttconn

import (
	"bytes"
	"strings"
	"sync"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// NewStore is the paho store of every client of ours (custodyd's connection, the tests' agents).
func NewStore() paho.Store { return newCopyingStore() }

// copyingStore is paho's memory store, except that outbound publish packets are held as private
// copies and handed out as fresh copies. paho v1.5.1's resume() sets the DUP flag on the packet it
// gets from the store while the writer of the connection that just died may still be encoding that
// same packet: a data race (paho issue #703, open; seen under -race when the broker restarts with
// commands in flight).
// With copies, resume never touches a packet another goroutine holds.
type copyingStore struct {
	paho.Store
	mu sync.Mutex
}

func newCopyingStore() *copyingStore { return &copyingStore{Store: paho.NewMemoryStore()} }

func (s *copyingStore) Put(key string, m packets.ControlPacket) {
	if _, ok := m.(*packets.PublishPacket); ok && strings.HasPrefix(key, "o.") {
		s.mu.Lock()
		m = clonePacket(m)
		s.mu.Unlock()
	}
	s.Store.Put(key, m)
}

func (s *copyingStore) Get(key string) packets.ControlPacket {
	m := s.Store.Get(key)
	if _, ok := m.(*packets.PublishPacket); ok && strings.HasPrefix(key, "o.") {
		s.mu.Lock()
		m = clonePacket(m)
		s.mu.Unlock()
	}
	return m
}

// clonePacket round-trips m through its wire encoding (Write also sets its remaining length,
// hence the caller's lock).
func clonePacket(m packets.ControlPacket) packets.ControlPacket {
	var b bytes.Buffer
	if err := m.Write(&b); err != nil {
		return m
	}
	c, err := packets.ReadPacket(&b)
	if err != nil {
		return m
	}
	return c
}
