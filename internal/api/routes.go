package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/custodyhq/custody/internal/audit"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store"
)

// Who may do what. Custodians run the register; leaders read it; the 三员 see it without titles
// (admin) or only its history (auditor, secadmin); holders get their own views with the
// workflows issue.
var (
	anyone     []custody.Role // nil: any authenticated person
	readers    = []custody.Role{custody.Custodian, custody.Leader, custody.Admin, custody.SecAdmin}
	custodians = []custody.Role{custody.Custodian}
	placeMgrs  = []custody.Role{custody.Custodian, custody.Admin}
	admins     = []custody.Role{custody.Admin}
	auditors   = []custody.Role{custody.Auditor, custody.SecAdmin}
)

// table is every route; each area of the API contributes its own list.
func (s *Server) table() []route {
	var all []route
	for _, area := range [][]route{s.coreRoutes(), s.workflowRoutes(), s.alertRoutes(), s.encodeRoutes(), s.trustRoutes(), s.siteRoutes(), s.lockRoutes(), s.lossRoutes(), s.termRoutes(), s.checkRoutes(), s.transitRoutes(), s.importRoutes(), s.epcisRoutes(), s.signInRoutes()} {
		all = append(all, area...)
	}
	return all
}

func (s *Server) coreRoutes() []route {
	return []route{
		{method: "GET", path: "/healthz", public: true, raw: s.healthz},
		{method: "GET", path: "/readyz", public: true, raw: s.readyz},
		{method: "GET", path: "/api/v1/openapi.json", public: true, raw: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(openAPI)
		}},
		{method: "POST", path: "/api/v1/login", public: true, h: s.login},
		{method: "GET", path: "/api/v1/me", roles: anyone, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) { return a, nil }},
		{method: "POST", path: "/api/v1/me/password", roles: anyone, h: s.changePassword},
		{method: "GET", path: "/api/v1/units", roles: anyone, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) { return s.reg.Units(ctx, a) }},
		{method: "POST", path: "/api/v1/units", roles: admins, status: 201, h: withBody(s.reg.AddUnit)},
		{method: "GET", path: "/api/v1/people", roles: []custody.Role{custody.Admin, custody.SecAdmin, custody.Custodian}, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) { return s.reg.People(ctx, a) }},
		{method: "POST", path: "/api/v1/people", roles: admins, status: 201, h: s.addPerson},
		{method: "GET", path: "/api/v1/documents", roles: readers, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			return s.reg.Documents(ctx, a)
		}},
		{method: "POST", path: "/api/v1/documents", roles: custodians, status: 201, h: s.registerDocument},
		{method: "GET", path: "/api/v1/items", roles: readers, h: s.items},
		{method: "GET", path: "/api/v1/items/{id}", roles: readers, h: byID(s.reg.Item)},
		{method: "POST", path: "/api/v1/items/store", roles: custodians, h: s.storeItems},
		{method: "GET", path: "/api/v1/cabinets", roles: readers, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
			return s.reg.Cabinets(ctx, a)
		}},
		{method: "POST", path: "/api/v1/cabinets", roles: placeMgrs, status: 201, h: withBody(s.reg.AddCabinet)},
		{method: "POST", path: "/api/v1/desks", roles: placeMgrs, status: 201, h: withBody(s.reg.AddDesk)},
		{method: "GET", path: "/api/v1/agents", roles: admins, h: func(ctx context.Context, a register.Actor, r *http.Request) (any, error) { return s.reg.Agents(ctx, a) }},
		{method: "POST", path: "/api/v1/agents", roles: admins, status: 201, h: s.enrollAgent},
		{method: "POST", path: "/api/v1/agents/{id}/revoke", roles: admins, h: s.revokeAgent},
		{method: "GET", path: "/api/v1/audit", roles: auditors, raw: s.auditExport},
		{method: "GET", path: "/api/v1/audit/head", roles: auditors, h: s.auditHead},
		{method: "POST", path: "/api/v1/backup", roles: anyone, raw: s.backup},
	}
}

// healthz is the truthful health of custodyd: the store must be able to write (a full disk says
// so here before a person's change fails), and every check the wiring added (Options.Health:
// ingest connected within its grace and publishing, the reconciliation queue not overflowing)
// must pass. Not ok is 503 with each failing condition and its reason; custody_health_ok says the
// same per condition.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	s.health(w, r, false)
}

// readyz is readiness for a load balancer: healthz's conditions, and ingest connected now (no
// grace) — while custodyd cannot hear its agents, send the traffic elsewhere.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	s.health(w, r, true)
}

func (s *Server) health(w http.ResponseWriter, r *http.Request, ready bool) {
	conds := map[string]error{"store": s.st.Probe(r.Context())}
	for name, check := range s.opt.Health {
		conds[name] = check()
	}
	if ready && s.opt.Ready != nil {
		conds["ready"] = s.opt.Ready()
	}
	failed := map[string]string{}
	for name, err := range conds {
		v := 1.0
		if err != nil {
			v = 0
			failed[name] = err.Error()
		}
		s.healthOK.WithLabelValues(name).Set(v)
	}
	if len(failed) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "failed": failed})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	Token   string         `json:"token"`
	Expires time.Time      `json:"expires_at"`
	Person  register.Actor `json:"person"`
}

func (s *Server) login(ctx context.Context, _ register.Actor, r *http.Request) (any, error) {
	var req loginRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	tok, a, err := s.reg.LoginFrom(ctx, remoteHost(r), req.Username, req.Password, s.opt.TokenTTL)
	if err != nil {
		s.log.Warn("login failed", "username", req.Username, "remote", r.RemoteAddr)
		return nil, err
	}
	return loginResponse{Token: tok, Expires: time.Now().Add(s.opt.TokenTTL).UTC(), Person: a}, nil
}

func (s *Server) changePassword(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	var req struct {
		Old string `json:"old"`
		New string `json:"new"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	return map[string]string{"status": "ok"}, s.reg.ChangePassword(ctx, a, req.Old, req.New)
}

type addPersonResponse struct {
	register.Person
	OneTimePassword string `json:"one_time_password,omitempty"`
}

func (s *Server) addPerson(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	var np register.NewPerson
	if err := decode(r, &np); err != nil {
		return nil, err
	}
	p, pw, err := s.reg.AddPerson(ctx, a, np)
	return addPersonResponse{p, pw}, err
}

type registerResponse struct {
	Document register.Document `json:"document"`
	Items    []register.Item   `json:"items"`
}

func (s *Server) registerDocument(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	var d register.Document
	if err := decode(r, &d); err != nil {
		return nil, err
	}
	doc, items, err := s.reg.RegisterDocument(ctx, a, d)
	return registerResponse{doc, items}, err
}

func (s *Server) items(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	q := r.URL.Query()
	f := register.ItemFilter{Document: q.Get("document"), State: custody.State(q.Get("state")), Cabinet: q.Get("cabinet")}
	if f.State != "" && !f.State.Valid() {
		return nil, bad("未知状态 %q", "unknown state %q", f.State)
	}
	return s.reg.Items(ctx, a, f)
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, bad("编号 %q 无效", "id %q is not a positive number", r.PathValue("id"))
	}
	return id, nil
}

type storeRequest struct {
	Cabinet string  `json:"cabinet"`
	Items   []int64 `json:"items"`
}

func (s *Server) storeItems(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	var req storeRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	return s.reg.StoreItems(ctx, a, req.Cabinet, req.Items)
}

type enrollResponse struct {
	register.Agent
	Key string `json:"key"` // base64; shown once
}

func (s *Server) enrollAgent(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	var req struct {
		ID string `json:"id"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	ag, key, err := s.reg.EnrollAgent(ctx, a, req.ID)
	return enrollResponse{ag, base64.StdEncoding.EncodeToString(key)}, err
}

// AgentRevoked, if set by the wiring, is told of a revocation so the broker disconnects the
// agent and ingest forgets its key at once.
type AgentRevoked func(id string)

func (s *Server) revokeAgent(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	id := r.PathValue("id")
	if err := s.reg.RevokeAgent(ctx, a, id); err != nil {
		return nil, err
	}
	if s.opt.OnRevoke != nil {
		s.opt.OnRevoke(id)
	}
	return map[string]string{"status": "revoked", "id": id}, nil
}

// auditExport streams the chain as JSON lines, the format `custodyctl audit verify` reads.
func (s *Server) auditExport(w http.ResponseWriter, r *http.Request) {
	a := actorFrom(r.Context())
	// The export names documents by number and level: it bears the mark of what the register
	// still holds classified on its first line (issue 14 point 9), outside the chain.
	mark, err := s.reg.RegisterMark(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	if mark != "" {
		if _, err := w.Write(audit.MarkLine(mark)); err != nil {
			return
		}
	}
	var batch []audit.Record
	flush := func() error {
		err := audit.WriteJSONL(w, batch)
		batch = batch[:0]
		return err
	}
	err = s.st.AuditRecords(r.Context(), 1, func(rec audit.Record) error {
		batch = append(batch, rec)
		if len(batch) == 1024 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		// Headers are gone; a cut-off stream fails verification as "truncated" on the client.
		s.log.Error("audit export failed", "actor", a.Username, "err", err)
		return
	}
	s.log.Info("audit exported", "actor", a.Username)
}

func (s *Server) auditHead(ctx context.Context, a register.Actor, r *http.Request) (any, error) {
	seq, hash := s.st.AuditHead()
	return map[string]any{"seq": seq, "hash": hash}, nil
}

// msgBackupPostgres answers a backup asked of a register kept in PostgreSQL.
var msgBackupPostgres = custody.Text{
	ZH: "登记簿存放在 PostgreSQL 数据库中，不能由 custodyd 备份：请由数据库管理员用 pg_dump 备份（见 docs/deployment.md）",
	EN: "the register is kept in PostgreSQL, which custodyd does not back up: back it up with pg_dump (docs/deployment.md)",
}

// backup streams an online backup of the database (SQLite's backup API) to the caller.
//
// Taking a backup is a right the security administrator grants (issue 13); the copy carries no
// agent key (store.ScrubAgentKeys: agents enrol again after a restore), and the audit records
// who took it, when, and the file's SHA-256.
func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	a := actorFrom(r.Context())
	if err := s.reg.MayBackup(r.Context(), a); err != nil {
		s.reg.AuditRefusal(r.Context(), a, r.Method+" "+r.URL.Path, err)
		s.fail(w, r, err)
		return
	}
	if s.st.Dialect() == store.Postgres {
		// The online backup copies a SQLite file; a PostgreSQL register is the database
		// server's to back up (docs/deployment.md, "PostgreSQL").
		writeError(w, r, http.StatusNotImplemented, "not_on_postgres", msgBackupPostgres)
		return
	}
	dir, err := os.MkdirTemp(filepath.Dir(s.st.Path()), "backup-")
	if err != nil {
		s.fail(w, r, fmt.Errorf("backup: %w", err))
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "custody.db")
	if err := s.st.Backup(r.Context(), path); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := store.ScrubAgentKeys(r.Context(), path); err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	// The copy leaves the data directory now: the open file is all that is left of it, and it
	// vanishes with the descriptor however this request ends (a kill included). custodyd also
	// removes any backup-* directory a kill left behind at its next start.
	if err := os.RemoveAll(dir); err != nil {
		s.log.Warn("backup: remove the temporary copy", "dir", dir, "err", err)
	}
	sum := sha256.New()
	if _, err := io.Copy(sum, f); err != nil {
		s.fail(w, r, fmt.Errorf("backup: hash the copy: %w", err))
		return
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		s.fail(w, r, fmt.Errorf("backup: %w", err))
		return
	}
	st, _ := f.Stat()
	if err := s.reg.RecordBackup(r.Context(), a, hex.EncodeToString(sum.Sum(nil)), st.Size()); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.sqlite3")
	w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
	w.Header().Set("Content-Disposition", `attachment; filename="custody-backup.db"`)
	http.ServeContent(w, r, "custody-backup.db", time.Now(), f)
	s.log.Info("backup taken", "actor", a.Username, "bytes", st.Size())
}
