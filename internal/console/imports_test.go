package console_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/ledger"
)

// upload posts a file to /import as a browser's form does, with the button pressed.
func (s *site) upload(t *testing.T, c *http.Client, name string, data []byte, action string) (int, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.WriteField("action", action)
	mw.Close()
	req, _ := http.NewRequest("POST", s.base+"/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", s.base)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A custodian downloads the template, uploads a ledger with a bad row and sees each problem by
// row and column, corrects it and imports it; the register then lists the copies. A leader is
// refused, audited, and nothing is written.
func TestImportLedgerInTheConsole(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	c := s.client()
	s.signIn(c, "wang.fang")
	resp, err := c.Get(s.base + "/import/template")
	if err != nil {
		t.Fatal(err)
	}
	tpl, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if sh, err := ledger.Decode(tpl); resp.StatusCode != 200 || err != nil || sh.Format != "xlsx" {
		t.Fatalf("template download: got %d, %v", resp.StatusCode, err)
	}
	if code, body := get(t, c, s.base+"/import"); code != 200 || !strings.Contains(body, `id="dry"`) {
		t.Fatalf("import page: got %d", code)
	}
	head := "发文字号,标题,密级,份数,份号,保密期限,发文单位,成文日期,来文单位,存放柜\n"
	good := "京办发〔2025〕12号,关于做好年度保密检查工作的通知,机密,20,3-4,10年,BGS,2025-03-01,市委机要局,C-01\n"
	bad := "京办发〔2025〕13号,关于会议安排的通知,特密,5,9,5年,BGS,2025-03-02,市委机要局,C-09\n"
	before := s.count(`SELECT count(*) FROM items`)
	code, body := s.upload(t, c, "台账.csv", []byte(head+good+bad), "dry")
	if code != 200 || !strings.Contains(body, `id="problems"`) || strings.Count(body, "<tr><td>3</td>") != 3 || !strings.Contains(body, "<td>存放柜</td>") {
		t.Errorf("dry run with a bad row: got %d, want row 3's 密级, 份号 and 存放柜 problems listed", code)
	}
	if code, body := s.upload(t, c, "台账.csv", []byte(head+good+bad), "import"); code != 422 || !strings.Contains(body, "未导入任何内容") {
		t.Errorf("import with a bad row: got %d, want 422 saying nothing was imported", code)
	}
	if n := s.count(`SELECT count(*) FROM items`); n != before {
		t.Errorf("a refused import wrote %d items", n-before)
	}
	if code, body := s.upload(t, c, "台账.xls", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"), "dry"); code != 400 || !strings.Contains(body, "另存为 .xlsx") {
		t.Errorf("an old .xls: got %d, want 400 telling to save as .xlsx", code)
	}

	l := s.client()
	s.signIn(l, "li.ming")
	refused := s.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = 'li.ming'`)
	if code, _ := s.upload(t, l, "台账.csv", []byte(head+good), "import"); code != http.StatusForbidden {
		t.Errorf("a leader's import: got %d, want 403", code)
	}
	if n := s.count(`SELECT count(*) FROM audit WHERE action = 'refused' AND actor = 'li.ming'`); n != refused+1 {
		t.Errorf("the leader's import was not audited")
	}

	code, body = s.upload(t, c, "台账.csv", []byte(head+good), "import")
	if code != 200 || !strings.Contains(body, `id="imported"`) || strings.Count(body, "京办发〔2025〕12号") < 2 {
		t.Fatalf("import: got %d, want the two copies listed", code)
	}
	if n := s.count(`SELECT count(*) FROM items`); n != before+2 {
		t.Errorf("import: the register holds %d more items, want 2", n-before)
	}
	if _, reg := get(t, c, s.base+"/register?q="+"京办发〔2025〕12号"); strings.Count(reg, "关于做好年度保密检查工作的通知") != 2 {
		t.Errorf("the register does not list the two imported copies")
	}
}
