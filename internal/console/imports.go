package console

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"

	"github.com/custodyhq/custody/internal/ledger"
	"github.com/custodyhq/custody/internal/register"
)

// Ledger import in the console (issue 16 point 5): a custodian uploads the office's 台账, sees
// the dry run's problems row by row, and imports it; the template is a download. The file is
// read by package ledger and every row checked by the register, exactly as custodyctl import
// and the API do (docs/import.md).

type importData struct {
	File   string
	Report *register.ImportReport
	Err    string // the file could not be read at all
}

func (c *Console) importPage(w http.ResponseWriter, r *http.Request, p *page) {
	p.Err = c.takeFlash(r)
	p.Data = importData{}
	c.render(w, r, http.StatusOK, "import", p)
}

func (c *Console) importTemplate(w http.ResponseWriter, r *http.Request, p *page) {
	b, err := ledger.Template()
	if err != nil {
		c.fail(w, r, p, err)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	w.Header().Set("Content-Disposition", `attachment; filename="ledger-template.xlsx"; filename*=UTF-8''`+url.PathEscape("台账模板.xlsx"))
	w.Write(b)
}

// importLedger takes the uploaded file (multipart field "file") and the button pressed: "dry"
// checks, "import" imports. The page answers with the report either way.
func (c *Console) importLedger(w http.ResponseWriter, r *http.Request, p *page) {
	r.Body = http.MaxBytesReader(w, r.Body, ledger.MaxFileBytes+maxForm)
	d := importData{}
	p.Data = &d
	f, hdr, err := r.FormFile("file")
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			d.Err = ledger.TooLarge().In(p.Lang)
		} else {
			d.Err = p.T("import.no_file")
		}
		c.render(w, r, http.StatusBadRequest, "import", p)
		return
	}
	defer f.Close()
	d.File = clip(filepath.Base(hdr.Filename), 100)
	data, err := io.ReadAll(io.LimitReader(f, ledger.MaxFileBytes+1))
	if err != nil {
		c.fail(w, r, p, fmt.Errorf("read the upload: %w", err))
		return
	}
	sheet, err := ledger.Decode(data)
	if err != nil {
		var le *ledger.Error
		if !errors.As(err, &le) {
			c.fail(w, r, p, err)
			return
		}
		d.Err = le.Text.In(p.Lang)
		c.render(w, r, http.StatusBadRequest, "import", p)
		return
	}
	dry := r.PostFormValue("action") != "import"
	sum := sha256.Sum256(data)
	rep, err := c.reg.ImportLedger(r.Context(), p.Actor, register.ImportRequest{Sheet: sheet, DryRun: dry, Name: d.File, SHA256: hex.EncodeToString(sum[:])})
	d.Report = &rep
	status := http.StatusOK
	if err != nil {
		var re *register.Error
		if !errors.As(err, &re) {
			c.fail(w, r, p, err)
			return
		}
		if dry && len(rep.Problems) > 0 {
			// A dry run's problems are its answer, not a refusal: nothing was attempted.
			c.render(w, r, http.StatusOK, "import", p)
			return
		}
		p.Err = p.refusal(err) // audited
		status = http.StatusUnprocessableEntity
		if re.Code == register.CodeForbidden {
			status = http.StatusForbidden
		}
	}
	p.Titles = p.Actor.SeesTitles()
	c.render(w, r, status, "import", p)
}
