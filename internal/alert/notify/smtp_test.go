package notify

import (
	"net"
	"net/textproto"
	"testing"
)

// startPlainSMTP is a minimal real SMTP server (RFC 5321 greeting, EHLO without STARTTLS, QUIT)
// on 127.0.0.1, enough to show that the mailer will not send in clear. Delivery itself is tested
// against emersion/go-smtp in package alert.
func startPlainSMTP(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			func() {
				defer c.Close()
				tp := textproto.NewConn(c)
				tp.PrintfLine("220 plain.test ESMTP")
				for {
					line, err := tp.ReadLine()
					if err != nil {
						return
					}
					switch {
					case len(line) >= 4 && (line[:4] == "EHLO" || line[:4] == "HELO"):
						tp.PrintfLine("250-plain.test")
						tp.PrintfLine("250 8BITMIME")
					case len(line) >= 4 && line[:4] == "QUIT":
						tp.PrintfLine("221 bye")
						return
					default:
						tp.PrintfLine("502 not here")
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String()
}
