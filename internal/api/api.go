// Package api is custodyd's HTTP interface: JSON under /api/v1, bearer-token authentication, a
// role check on every route, errors with a stable code and a message in the caller's language,
// request size limits, /healthz, /metrics and the OpenAPI document.
//
// Contract: every route is declared once in the routes table with the roles allowed to call it;
// the OpenAPI document (openapi.json) lists exactly those routes, which a test checks. Mutating
// calls change the register only through package register, which audits them.
package api

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/epcis"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
)

// The OpenAPI document is kept as fragments, one per area (openapi/core.json holds the info,
// security schemes and shared schemas); mergeOpenAPI joins their paths and components.
//
//go:embed openapi/*.json
var openAPIFiles embed.FS

var openAPI = mergeOpenAPI()

func mergeOpenAPI() []byte {
	read := func(name string) map[string]any {
		b, err := openAPIFiles.ReadFile(name)
		var m map[string]any
		if err == nil {
			err = json.Unmarshal(b, &m)
		}
		if err != nil {
			panic(fmt.Sprintf("api: %s: %v", name, err))
		}
		return m
	}
	doc := read("openapi/core.json")
	names, _ := fs.Glob(openAPIFiles, "openapi/*.json")
	sort.Strings(names)
	for _, n := range names {
		if n != "openapi/core.json" {
			mergeInto(doc, read(n))
		}
	}
	b, _ := json.MarshalIndent(doc, "", " ")
	return b
}

// mergeInto adds the fragment's paths and component entries to doc; a name defined twice is a
// programming error.
func mergeInto(doc, frag map[string]any) {
	for _, key := range []string{"paths"} {
		dst, _ := doc[key].(map[string]any)
		for k, v := range asMap(frag[key]) {
			if _, dup := dst[k]; dup {
				panic("api: openapi path defined twice: " + k)
			}
			dst[k] = v
		}
	}
	dc := asMap(doc["components"])
	for section, entries := range asMap(frag["components"]) {
		dst := asMap(dc[section])
		if dst == nil {
			dst = map[string]any{}
			dc[section] = dst
		}
		for k, v := range asMap(entries) {
			if _, dup := dst[k]; dup {
				panic("api: openapi component defined twice: " + section + "/" + k)
			}
			dst[k] = v
		}
	}
}

func asMap(v any) map[string]any { m, _ := v.(map[string]any); return m }

// MaxBody bounds a request body; the largest legitimate one (a document with its readership
// scope) is a few kilobytes.
const MaxBody = 1 << 20

// Options configure a Server.
type Options struct {
	TokenTTL time.Duration        // lifetime of a login token; default 12 h
	Registry *prometheus.Registry // where to expose metrics; default a new one
	Ready    func() error         // extra readiness check for /readyz only (e.g. ingest connected now)
	// Health are the conditions /healthz (and /readyz) check besides the store, by name (ingest,
	// reconcile); each returns nil or why not.
	Health   map[string]func() error
	OnRevoke AgentRevoked         // told of agent revocations (broker disconnect, ingest key cache)
	OnRebind PlacesRebound        // told of a cabinet or desk bound to another agent (ingest's binding cache)
	Station  register.Station     // sends encode_tag to a desk's agent; nil: tag encoding is unavailable
	Locks    register.LockControl // sends lock and unlock to a cabinet's agent; nil: remote locking is unavailable
	// Inventory commands a cabinet's inventory now (a 清查 need not wait for the night); nil:
	// unavailable.
	Inventory register.InventoryControl
	// ReportFont is the TrueType font with Chinese glyphs for PDF reports and receipts ([reports]
	// font); empty: the report package's default (Debian's fonts-arphic-gbsn00lp).
	ReportFont string
	// Alerts is custodyd's alert book, so that an acknowledgement or resolution wakes its
	// escalator at once (published on MQTT, notices stopped); nil: a book of the API's own.
	Alerts *alert.Book
	// EPCIS places the office in EPCIS exports: its GLN and company prefix, or the base URI of
	// its own (docs/epcis.md); the zone is the register's.
	EPCIS epcis.Options
}

// Server serves the API.
type Server struct {
	reg      *register.Register
	st       *store.Store
	log      *slog.Logger
	opt      Options
	mux      *http.ServeMux
	routes   []route
	metrics  *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	healthOK *prometheus.GaugeVec
}

type handler func(ctx context.Context, a register.Actor, r *http.Request) (any, error)

type route struct {
	method, path string
	roles        []custody.Role // nil: any authenticated person
	public       bool
	status       int // success status; default 200
	h            handler
	raw          http.HandlerFunc // for routes that write their own response
	maxBody      int64            // body limit when larger than MaxBody (an uploaded ledger)
}

// New builds the server and its routes.
func New(reg *register.Register, st *store.Store, log *slog.Logger, opt Options) *Server {
	if opt.TokenTTL == 0 {
		opt.TokenTTL = 12 * time.Hour
	}
	if opt.Registry == nil {
		opt.Registry = prometheus.NewRegistry()
	}
	s := &Server{reg: reg, st: st, log: log, opt: opt, mux: http.NewServeMux()}
	s.metrics = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "custody_http_requests_total", Help: "HTTP requests by route and status."}, []string{"route", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "custody_http_request_seconds", Help: "HTTP request latency by route.", Buckets: prometheus.DefBuckets}, []string{"route"})
	s.healthOK = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "custody_health_ok", Help: "1 when a health condition holds, 0 when not, as /healthz last found it (store, ingest, reconcile, …)."}, []string{"condition"})
	opt.Registry.MustRegister(s.metrics, s.latency, s.healthOK)
	s.routes = s.table()
	for _, rt := range s.routes {
		s.mux.Handle(rt.method+" "+rt.path, s.wrap(rt))
	}
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(opt.Registry, promhttp.HandlerOpts{}))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusNotFound, "no_route", msgNoRoute)
	})
	return s
}

// Handler is the root handler.
func (s *Server) Handler() http.Handler { return s.mux }

var (
	msgNoRoute        = custody.Text{ZH: "没有这个接口", EN: "no such endpoint"}
	msgUnauth         = custody.Text{ZH: "需要登录：请在 Authorization 头中提供令牌（custodyctl login）", EN: "authentication required: send a bearer token (custodyctl login)"}
	msgInternal       = custody.Text{ZH: "服务器内部错误，已记录日志", EN: "internal error; it has been logged"}
	msgTooLarge       = custody.Text{ZH: "请求体过大（上限 1 MiB）", EN: "request body too large (limit 1 MiB)"}
	msgContentType    = custody.Text{ZH: "请求体必须是 JSON（Content-Type: application/json）", EN: "the request body must be JSON (Content-Type: application/json)"}
	msgEmptyBody      = custody.Text{ZH: "请求体为空", EN: "the request body is empty"}
	msgChangePassword = custody.Text{ZH: "请先修改一次性密码（custodyctl passwd）", EN: "change the one-time password first (custodyctl passwd)"}
	msgTrailingData   = custody.Text{ZH: "请求体只能包含一个 JSON 对象", EN: "the request body must hold exactly one JSON object"}
)

func (s *Server) wrap(rt route) http.Handler {
	name := rt.method + " " + rt.path
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusWriter{ResponseWriter: w, code: 200}
		defer func() {
			s.metrics.WithLabelValues(name, fmt.Sprint(rec.code)).Inc()
			s.latency.WithLabelValues(name).Observe(time.Since(start).Seconds())
		}()
		limit := int64(MaxBody)
		if rt.maxBody > limit {
			limit = rt.maxBody
		}
		r.Body = http.MaxBytesReader(rec, r.Body, limit)
		var a register.Actor
		if !rt.public {
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || tok == "" {
				writeError(rec, r, http.StatusUnauthorized, "unauthenticated", msgUnauth)
				return
			}
			var err error
			a, err = s.reg.Authenticate(r.Context(), tok)
			if err != nil {
				s.fail(rec, r, err)
				return
			}
			if a.MustChangePassword && !rt.allowedBeforePasswordChange() {
				writeError(rec, r, http.StatusForbidden, "password_change_required", msgChangePassword)
				return
			}
			if rt.roles != nil && !a.Has(rt.roles...) {
				s.reg.AuditRefusal(r.Context(), a, r.Method+" "+r.URL.Path, &register.Error{Code: register.CodeForbidden, Text: forbidden(rt.roles)})
				writeError(rec, r, http.StatusForbidden, register.CodeForbidden, forbidden(rt.roles))
				return
			}
		}
		if rt.raw != nil {
			rt.raw(rec, r.WithContext(withActor(r.Context(), a)))
			return
		}
		out, err := rt.h(r.Context(), a, r)
		if err != nil {
			// Every refusal is audited, so an inspector sees the attempts, not only what succeeded.
			s.reg.AuditRefusal(r.Context(), a, r.Method+" "+r.URL.Path, err)
			s.fail(rec, r, err)
			return
		}
		status := rt.status
		if status == 0 {
			status = http.StatusOK
		}
		writeJSON(rec, status, out)
	})
}

func forbidden(roles []custody.Role) custody.Text {
	var zh, en []string
	for _, r := range roles {
		zh = append(zh, r.Text().ZH)
		en = append(en, string(r))
	}
	return custody.Text{ZH: "无权访问：需要以下角色之一：" + strings.Join(zh, "、"), EN: "forbidden: needs one of the roles " + strings.Join(en, ", ")}
}

// fail maps an error onto a status: register refusals keep their code and text; anything else
// is an internal error, logged with its detail and answered without it.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var re *register.Error
	var be *badRequest
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		writeError(w, r, http.StatusRequestEntityTooLarge, "too_large", msgTooLarge)
	case errors.As(err, &be):
		writeError(w, r, http.StatusBadRequest, "bad_request", be.text)
	case errors.As(err, &re):
		status := map[string]int{
			register.CodeInvalid:     http.StatusBadRequest,
			register.CodeNotFound:    http.StatusNotFound,
			register.CodeConflict:    http.StatusConflict,
			register.CodeForbidden:   http.StatusForbidden,
			register.CodeRefused:     http.StatusUnprocessableEntity,
			register.CodeFull:        http.StatusInsufficientStorage,
			register.CodeUnavailable: http.StatusServiceUnavailable,
			register.CodeTimeout:     http.StatusGatewayTimeout,
			register.CodeThrottled:   http.StatusTooManyRequests,
			register.CodeLocked:      http.StatusForbidden,
		}[re.Code]
		if errors.Is(err, register.ErrBadToken) || errors.Is(err, register.ErrBadLogin) {
			status = http.StatusUnauthorized
		}
		if status == 0 {
			status = http.StatusInternalServerError
		}
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "3")
		}
		switch status {
		case http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			// A device out of reach: the person is told what to do; the log keeps the cause.
			s.log.Warn("request not served: device unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		default:
			if status >= 500 {
				s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			}
		}
		writeError(w, r, status, re.Code, re.Text)
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, r, http.StatusInternalServerError, "internal", msgInternal)
	}
}

// allowedBeforePasswordChange: with a one-time password an account may only see who it is and
// change the password.
func (rt route) allowedBeforePasswordChange() bool {
	return rt.path == "/api/v1/me" || rt.path == "/api/v1/me/password"
}

type badRequest struct{ text custody.Text }

func (b *badRequest) Error() string { return b.text.EN }

func bad(zh, en string, args ...any) error {
	return &badRequest{custody.Text{ZH: fmt.Sprintf(zh, args...), EN: fmt.Sprintf(en, args...)}}
}

// decode reads exactly one JSON object with no unknown fields into v.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &badRequest{msgContentType}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			return err
		case errors.Is(err, io.EOF):
			return &badRequest{msgEmptyBody}
		case errors.As(err, &se):
			return bad("JSON 格式错误（第 %d 字节）", "malformed JSON at byte %d", se.Offset)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return bad("JSON 格式错误：请求体不完整", "malformed JSON: the body ends in the middle of a value")
		case errors.As(err, &te):
			return bad("字段 %q 类型错误：应为 %s", "field %q has the wrong type: want %s", te.Field, te.Type.String())
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.TrimPrefix(err.Error(), "json: unknown field ")
			return bad("未知字段 %s", "unknown field %s", f)
		}
		return bad("无法解析请求体：%v", "cannot read the request body: %v", err)
	}
	if dec.More() {
		return &badRequest{msgTrailingData}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &badRequest{msgTrailingData}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// ErrorBody is the JSON of every error response.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, r *http.Request, status int, code string, text custody.Text) {
	var b ErrorBody
	b.Error.Code = code
	b.Error.Message = text.In(locale(r))
	writeJSON(w, status, b)
}

// locale picks zh-CN unless the first language the caller prefers is English.
func locale(r *http.Request) string {
	al := strings.TrimSpace(r.Header.Get("Accept-Language"))
	first, _, _ := strings.Cut(al, ",")
	first, _, _ = strings.Cut(first, ";")
	return strings.ToLower(strings.TrimSpace(first))
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type actorKey struct{}

func withActor(ctx context.Context, a register.Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

func actorFrom(ctx context.Context) register.Actor {
	a, _ := ctx.Value(actorKey{}).(register.Actor)
	return a
}
