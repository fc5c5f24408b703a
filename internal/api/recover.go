package api

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/custodyhq/custody/internal/custody"
)

// Recover answers a panic in any handler under h with a 500 and a request id, logs the panic
// with that id and the stack, and keeps serving: one bad request must never take the server (or
// another person's request) down. Every response carries X-Request-ID, which a person can quote.
func Recover(h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		w.Header().Set("X-Request-ID", id)
		rec := &recoverWriter{ResponseWriter: w}
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler { //nolint:errorlint // the sentinel net/http itself compares
				panic(p)
			}
			log.Error("handler panicked", "request_id", id, "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			if rec.wrote {
				return // the status is gone; the client sees a cut-off body
			}
			writeError(w, r, http.StatusInternalServerError, "internal", msgInternalID(id))
		}()
		h.ServeHTTP(rec, r)
	})
}

// recoverWriter notes whether the response has begun, and passes Flush on (the console's live
// stream needs it).
type recoverWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *recoverWriter) WriteHeader(code int) { w.wrote = true; w.ResponseWriter.WriteHeader(code) }

func (w *recoverWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *recoverWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		w.wrote = true
		f.Flush()
	}
}

func (w *recoverWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func msgInternalID(id string) custody.Text {
	return custody.Text{ZH: "服务器内部错误，已记录日志（请求编号 " + id + "）", EN: "internal error; it has been logged (request " + id + ")"}
}
