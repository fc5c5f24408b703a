package api

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/epc"
	"github.com/custodyhq/custody/internal/ledger"
)

// ledgerCSV is a ledger as Excel on a Chinese Windows saves it ("CSV（逗号分隔）": GBK).
func ledgerCSV(t *testing.T, rows ...string) string {
	t.Helper()
	text := "序号,发文字号,标题,密级,份数,份号,保密期限,发文单位,成文日期,来文单位,收文日期,存放柜,持有人\r\n" + strings.Join(rows, "\r\n") + "\r\n"
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var csvHeader = map[string]string{"Content-Type": "text/csv"}

const countItems = `SELECT count(*) FROM items`

func importEnv(t *testing.T) *env {
	e := newEnv(t)
	e.api.reg.SetIssuer(epc.Issuer{CompanyPrefix: "0614141", DocumentType: "12345", Filter: epc.FilterAllOthers})
	e.must("wang.fang", "POST", "/api/v1/cabinets", `{"code":"C-01","name":"一号柜","room":"R301","unit":"BGS"}`, 201)
	return e
}

func TestImportLedgerOverTheAPI(t *testing.T) {
	e := importEnv(t)
	good := []string{
		"1,京办发〔2025〕12号,关于做好年度保密检查工作的通知,机密,20,3-4,10年,BGS,2025-03-01,市委机要局,2025-03-03,C-01,",
		"2,京办发〔2025〕13号,关于会议安排的通知,秘密,5,2,5年,办公室,2025/3/2,市委机要局,,C-01,",
	}
	bad := append(good[:1:1], "3,京办发〔2025〕14号,关于经费的通知,特密,5,9,5年,BGS,2025-03-02,市委机要局,2099-01-01,C-02,")

	// Dry run of a file with a bad row: 200, every problem with its row and column, nothing written.
	var ans ImportAnswer
	e.decode(e.do("wang.fang", "POST", "/api/v1/imports?dry_run=1", ledgerCSV(t, bad...), csvHeader), 200, &ans)
	if ans.Error == nil || ans.Report.Encoding != "gbk" || len(ans.Report.Problems) != 4 {
		t.Fatalf("dry run: got %+v, want 4 problems of row 3 read from GBK", ans)
	}
	for i, col := range []string{"密级", "份号", "收文日期", "存放柜"} {
		if p := ans.Report.Problems[i]; p.Row != 3 || p.Column != col || p.ZH == "" || p.EN == "" {
			t.Errorf("problem %d: got %+v, want row 3 column %s in both languages", i, p, col)
		}
	}
	if strings.Contains(ans.Report.Problems[3].ZH, "C-02") == false {
		t.Errorf("the cabinet problem should name C-02: %+v", ans.Report.Problems[3])
	}
	// The same file for real: 422, nothing written, the refusal audited.
	before, refusals := e.count(countItems), e.count(`SELECT count(*) FROM audit WHERE action = 'refused'`)
	e.decode(e.do("wang.fang", "POST", "/api/v1/imports", ledgerCSV(t, bad...), csvHeader), 422, &ans)
	if ans.Report.Imported || !strings.Contains(ans.Error.Message, "未导入任何内容") {
		t.Errorf("refused import: got %+v", ans)
	}
	if n := e.count(countItems); n != before {
		t.Errorf("a refused import wrote %d items", n-before)
	}
	if n := e.count(`SELECT count(*) FROM audit WHERE action = 'refused'`); n != refusals+1 {
		t.Errorf("refusal records: got %d, want %d", n, refusals+1)
	}
	if n := e.count(`SELECT count(*) FROM documents`); n != 0 {
		t.Errorf("a refused import left %d documents", n)
	}

	// The good file: 201, each copy with its EPC, in its cabinet; one ledger.import record.
	e.decode(e.do("wang.fang", "POST", "/api/v1/imports?name=2025台账.csv", ledgerCSV(t, good...), csvHeader), 201, &ans)
	if !ans.Report.Imported || len(ans.Report.Items) != 3 || ans.Report.Documents != 2 {
		t.Fatalf("import: got %+v, want 3 copies of 2 documents", ans.Report)
	}
	for _, it := range ans.Report.Items {
		if it.State != custody.InCabinet || it.Cabinet != "C-01" || len(it.EPC) != 24 {
			t.Errorf("imported %s 第%d份: %s in %q EPC %q, want in C-01 with an EPC", it.Document, it.Copy, it.State, it.Cabinet, it.EPC)
		}
	}
	if n := e.count(`SELECT count(*) FROM audit WHERE action = 'ledger.import' AND actor = 'wang.fang' AND after LIKE '%2025台账.csv%'`); n != 1 {
		t.Errorf("ledger.import audit records: got %d, want 1", n)
	}
	// No title in any audit record of the import (the auditor reads them).
	if n := e.count(`SELECT count(*) FROM audit WHERE after LIKE '%关于做好年度保密检查%'`); n != 0 {
		t.Errorf("%d audit records carry a title", n)
	}
}

func TestImportLedgerRefusedToOtherRoles(t *testing.T) {
	e := importEnv(t)
	file := ledgerCSV(t, "1,京办发〔2025〕12号,关于做好年度保密检查工作的通知,机密,20,3,10年,BGS,2025-03-01,市委机要局,,C-01,")
	for _, who := range []string{"admin", "sec.admin", "zhao.lei", "li.ming"} {
		for _, path := range []string{"/api/v1/imports", "/api/v1/imports?dry_run=1"} {
			before := e.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = ?`, who)
			got, b := e.errorOf(e.do(who, "POST", path, file, csvHeader))
			if got != 403 || !strings.Contains(b.Error.Message, "机要员") {
				t.Errorf("%s %s: got %d %q, want 403 naming 机要员", who, path, got, b.Error.Message)
			}
			if n := e.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = ?`, who); n != before+1 {
				t.Errorf("%s %s: refusal not audited", who, path)
			}
		}
		if got, _ := e.errorOf(e.do(who, "GET", "/api/v1/imports/template", "", nil)); got != 403 {
			t.Errorf("%s template: got %d, want 403", who, got)
		}
	}
	if n := e.count(countItems); n != 0 {
		t.Errorf("refused imports wrote %d items", n)
	}
}

func TestImportLedgerBadFiles(t *testing.T) {
	e := importEnv(t)
	for _, c := range []struct {
		name, body string
		status     int
		zh         string
	}{
		{"too large", strings.Repeat("x", ledger.MaxFileBytes+10), 413, "文件过大"},
		{"old xls", "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 400, ".xlsx"},
		{"not a ledger", "a,b\n1,2\n", 400, "表头"},
		{"no rows", ledgerCSV(t), 400, "没有数据行"},
	} {
		got, b := e.errorOf(e.do("wang.fang", "POST", "/api/v1/imports", c.body, csvHeader))
		if got != c.status || !strings.Contains(b.Error.Message, c.zh) {
			t.Errorf("%s: got %d %q, want %d containing %q", c.name, got, b.Error.Message, c.status, c.zh)
		}
	}
	if n := e.count(countItems); n != 0 {
		t.Errorf("bad files wrote %d items", n)
	}
}

func TestImportTemplateDownload(t *testing.T) {
	e := importEnv(t)
	resp := e.do("wang.fang", "GET", "/api/v1/imports/template", "", nil)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("template: got %d %v", resp.StatusCode, resp.Header)
	}
	s, err := ledger.Decode(b)
	if err != nil || s.Format != "xlsx" || len(s.Rows) != 0 {
		t.Fatalf("the downloaded template decodes as %+v, %v", s, err)
	}
	if !bytes.HasPrefix(b, []byte("PK")) {
		t.Errorf("not an xlsx")
	}
}
