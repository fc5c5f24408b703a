package cabinetsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// Run prints the devices to out, runs the scenario's script and executes the commands read from
// in, one a line, until quit, ctx ends or Close. The end of in does not stop the simulator (a demo
// runs it with stdin closed). Run does not wait for the goroutine reading in: a read from a
// terminal cannot be interrupted, and it ends with the input or the process.
func (s *Sim) Run(ctx context.Context, in io.Reader, out io.Writer, asJSON bool) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	defer s.Close()
	var outMu sync.Mutex
	say := func(format string, a ...any) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(out, format, a...)
	}
	outMu.Lock()
	err := WriteDevices(out, s.Devices(), asJSON)
	outMu.Unlock()
	if err != nil {
		return fmt.Errorf("print devices: %w", err)
	}
	// With asJSON the replies are JSON lines too ({"reply":…} or {"error":…}), so a program driving
	// the simulator reads one format.
	reply := func(key, text string) {
		if asJSON {
			b, _ := json.Marshal(map[string]string{key: text})
			say("%s\n", b)
		} else if key == "error" {
			say("error: %s\n", text)
		} else {
			say("%s\n", text)
		}
	}
	exec := func(line, from string) {
		msg, err := s.Exec(line)
		switch {
		case errors.Is(err, ErrQuit):
			s.quitOne.Do(func() { close(s.quit) })
		case err != nil:
			reply("error", err.Error())
			s.log.Warn("command refused", "from", from, "command", line, "err", err)
		default:
			reply("reply", msg)
			s.log.Info("command", "from", from, "command", line)
		}
	}
	start := time.Now()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		steps := append([]Step(nil), s.sc.Script...)
		sort.SliceStable(steps, func(i, j int) bool { return steps[i].After.Duration < steps[j].After.Duration })
		for _, st := range steps {
			t := time.NewTimer(time.Until(start.Add(st.After.Duration)))
			select {
			case <-s.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			exec(st.Do, "script")
		}
	}()
	if in != nil {
		stopped := make(chan struct{})
		defer close(stopped)
		lines := make(chan string)
		go func() {
			defer close(lines)
			sc := newLineScanner(in)
			for sc.Scan() {
				select {
				case lines <- sc.Text():
				case <-stopped:
					return
				}
			}
		}()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for {
				select {
				case <-s.ctx.Done():
					return
				case l, ok := <-lines:
					if !ok {
						return
					}
					if strings.TrimSpace(l) == "" || strings.HasPrefix(strings.TrimSpace(l), "#") {
						continue
					}
					exec(l, "stdin")
				}
			}
		}()
	}
	select {
	case <-s.ctx.Done():
	case <-s.quit:
	}
	return nil
}
