package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/register"
)

// Ledger import (issue 16 point 5). The file itself is uploaded and parsed here, on the server,
// not by custodyctl: the console uploads the same file from a browser, and parsing in one place
// means one set of rules for headings, encodings, dates and formula cells. The upload is bounded
// (ledger.MaxFileBytes, and the decoder's row and unzip limits). Every rule about a row is the
// register's (ImportLedger), applied exactly as a hand receipt.

func (s *Server) importRoutes() []route {
	return []route{
		{method: "POST", path: "/api/v1/imports", roles: custodians, raw: s.importLedger, maxBody: ledger.MaxFileBytes},
		{method: "GET", path: "/api/v1/imports/template", roles: custodians, raw: s.importTemplate},
	}
}

// ImportAnswer is the body of POST /api/v1/imports: the report, and when nothing was imported
// because of problems, the error as every error answer carries it.
type ImportAnswer struct {
	Error  *errorText            `json:"error,omitempty"`
	Report register.ImportReport `json:"report"`
}

type errorText struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// importLedger takes the file as the request body (xlsx or CSV, recognised from its bytes),
// ?dry_run=1 to check only, and ?name= for the audit record.
func (s *Server) importLedger(w http.ResponseWriter, r *http.Request) {
	a := actorFrom(r.Context())
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, r, http.StatusRequestEntityTooLarge, "too_large", ledger.TooLarge())
			return
		}
		s.fail(w, r, bad("无法读取上传的文件：%v", "cannot read the uploaded file: %v", err))
		return
	}
	dry, _ := strconv.ParseBool(r.URL.Query().Get("dry_run"))
	sheet, err := ledger.Decode(data)
	if err != nil {
		var le *ledger.Error
		if errors.As(err, &le) {
			writeError(w, r, http.StatusBadRequest, "bad_file", le.Text)
			return
		}
		s.fail(w, r, err)
		return
	}
	sum := sha256.Sum256(data)
	rep, err := s.reg.ImportLedger(r.Context(), a, register.ImportRequest{Sheet: sheet, DryRun: dry, Name: r.URL.Query().Get("name"), SHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		var re *register.Error
		if !errors.As(err, &re) || len(rep.Problems) == 0 {
			s.reg.AuditRefusal(r.Context(), a, r.Method+" "+r.URL.Path, err)
			s.fail(w, r, err)
			return
		}
		// Problems found: every row's problems in the body, with the refusal; a real import
		// refused is audited as every refusal is (a dry run changes nothing and is not).
		if !dry {
			s.reg.AuditRefusal(r.Context(), a, r.Method+" "+r.URL.Path, err)
		}
		status := http.StatusUnprocessableEntity
		if dry {
			status = http.StatusOK
		}
		writeJSON(w, status, ImportAnswer{Error: &errorText{Code: re.Code, Message: re.Text.In(locale(r))}, Report: rep})
		return
	}
	status := http.StatusOK
	if rep.Imported {
		status = http.StatusCreated
		s.log.Info("ledger imported", "actor", a.Username, "rows", rep.Rows, "copies", rep.Copies, "sha256", hex.EncodeToString(sum[:]))
	}
	writeJSON(w, status, ImportAnswer{Report: rep})
}

// importTemplate serves the ledger template (台账模板.xlsx).
func (s *Server) importTemplate(w http.ResponseWriter, r *http.Request) {
	b, err := ledger.Template()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="ledger-template.xlsx"; filename*=UTF-8''%s`, url.PathEscape("台账模板.xlsx")))
	w.Write(b)
}
