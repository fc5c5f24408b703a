package ctl

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/custodyhq/custody/internal/api/apitype"
)

// import sends a ledger file (.xlsx or .csv) to custodyd as it is: custodyd reads it and applies
// the register's rules to every row, the same for custodyctl and the console's upload, so the
// CLI holds no copy of them. --template fetches the template custodyd serves.

// maxLedgerBytes is custodyd's limit of one ledger file (ledger.MaxFileBytes); checked here
// first so that a huge file is not uploaded only to be refused.
const maxLedgerBytes = 8 << 20

// importAnswer is POST /api/v1/imports' answer.
type importAnswer struct {
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	Report struct {
		DryRun     bool     `json:"dry_run"`
		Imported   bool     `json:"imported"`
		Format     string   `json:"format"`
		Encoding   string   `json:"encoding"`
		Rows       int      `json:"rows"`
		Documents  int      `json:"documents"`
		Copies     int      `json:"copies"`
		CheckedOut int      `json:"checked_out"`
		Ignored    []string `json:"ignored_columns"`
		Problems   []struct {
			Row    int    `json:"row"`
			Column string `json:"column"`
			ZH     string `json:"zh"`
			EN     string `json:"en"`
		} `json:"problems"`
		Items  []apitype.Item `json:"items"`
		Labels []string       `json:"labels"`
	} `json:"report"`
}

func (c *CLI) writeTemplate(ctx context.Context, path string) error {
	resp, err := c.send(ctx, "GET", "/api/v1/imports/template", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxLedgerBytes))
	if err != nil {
		return fmt.Errorf("read the template: %w", err)
	}
	// A template never overwrites a file: the ledger someone filled in might be under that name.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return exitf(ExitConflict, "%s", c.say(fmt.Sprintf("%s 已存在，未覆盖：请换一个文件名", path), fmt.Sprintf("%s exists and was not overwritten: choose another name", path)))
	} else if err != nil {
		return exitf(ExitUsage, "%v", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintln(c.Stdout, c.say("已写出台账模板："+path+"（第二张工作表“填写说明”解释各列）", "ledger template written: "+path+" (its second sheet, 填写说明, explains each column)"))
	return nil
}

func (c *CLI) importLedger(ctx context.Context, path string, dry bool) error {
	st, err := os.Stat(path)
	if err != nil {
		return exitf(ExitUsage, "%s", c.say(fmt.Sprintf("无法读取 %s：%v", path, err), fmt.Sprintf("cannot read %s: %v", path, err)))
	}
	if st.Size() > maxLedgerBytes {
		return exitf(ExitUsage, "%s", c.say(fmt.Sprintf("%s 过大：最大 %d MiB，请分成几个文件导入", path, maxLedgerBytes>>20), fmt.Sprintf("%s is too large: at most %d MiB; import it in parts", path, maxLedgerBytes>>20)))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return exitf(ExitUsage, "%v", err)
	}
	q := url.Values{"name": {filepath.Base(path)}}
	if dry {
		q.Set("dry_run", "1")
	}
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(c.server, "/")+"/api/v1/imports?"+q.Encode(), bytes.NewReader(data))
	if err != nil {
		return exitf(ExitUsage, "bad --server %q: %v", c.server, err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Accept-Language", c.lang)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return exitf(ExitUnreachable, "%s", c.say(fmt.Sprintf("无法连接 custodyd（%s）：%v", c.server, err), fmt.Sprintf("cannot reach custodyd at %s: %v", c.server, err)))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	var ans importAnswer
	if err := json.Unmarshal(b, &ans); err != nil || (ans.Error == nil && resp.StatusCode >= 300) {
		return answerError(resp.StatusCode, b)
	}
	if ans.Error != nil && len(ans.Report.Problems) == 0 {
		return answerError(resp.StatusCode, b)
	}
	if c.json {
		if err := c.output(ans, nil); err != nil {
			return err
		}
	} else {
		c.printImport(ans)
	}
	if ans.Error != nil {
		// Problems found: the table says which; the status tells scripts nothing was imported.
		return exitf(ExitConflict, "%s", ans.Error.Message)
	}
	return nil
}

// answerError turns an error answer without a report into the exit error every command gives.
func answerError(status int, b []byte) error {
	var eb struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	msg := strings.TrimSpace(string(b))
	if json.Unmarshal(b, &eb) == nil && eb.Error.Message != "" {
		msg = eb.Error.Message
	}
	code := ExitFailed
	switch status {
	case 401, 403:
		code = ExitAuth
	case 404:
		code = ExitNotFound
	case 409, 422:
		code = ExitConflict
	case 400, 413:
		code = ExitUsage
	}
	return &exitError{code, msg}
}

func (c *CLI) printImport(ans importAnswer) {
	r := ans.Report
	w := newTable(c.Stdout)
	enc := r.Encoding
	if enc == "gbk" {
		enc = c.say("GBK（已自动转换）", "GBK (converted)")
	}
	line(w, c.say("读取 %s 文件（%s），%d 行\n", "read a %s file (%s), %d rows\n"), strings.ToUpper(r.Format), enc, r.Rows)
	if len(r.Ignored) > 0 {
		line(w, c.say("未识别的列（已忽略）：%s\n", "columns not recognised (ignored): %s\n"), strings.Join(r.Ignored, "、"))
	}
	if len(r.Problems) > 0 {
		fmt.Fprintln(w, c.say("行\t列\t问题", "ROW\tCOLUMN\tPROBLEM"))
		for _, p := range r.Problems {
			col := p.Column
			if col == "" {
				col = "—"
			}
			fmt.Fprintf(w, "%d\t%s\t%s\n", p.Row, col, c.say(p.ZH, p.EN))
		}
		what := c.say("未导入任何内容", "nothing was imported")
		if r.DryRun {
			what = c.say("试导入，未写入任何内容", "dry run, nothing written")
		}
		line(w, c.say("共 %d 处问题；%s。请修改台账后重试。\n", "%d problems; %s. Correct the ledger and try again.\n"), len(r.Problems), what)
		w.Flush()
		return
	}
	if r.DryRun {
		line(w, c.say("试导入通过：%d 个新文件，%d 份（其中 %d 份借出）；未写入任何内容。去掉 --dry-run 正式导入。\n",
			"dry run passed: %d new documents, %d copies (%d lent); nothing written. Run again without --dry-run to import.\n"), r.Documents, r.Copies, r.CheckedOut)
		w.Flush()
		return
	}
	line(w, c.say("已导入：%d 个新文件，%d 份（其中 %d 份借出），每份已分配电子标签编码：\n", "imported: %d new documents, %d copies (%d lent), each with its EPC:\n"), r.Documents, r.Copies, r.CheckedOut)
	fmt.Fprintln(w, c.say("编号\t发文字号\t份号\t密级\t状态\t位置\tEPC", "ID\tDOCUMENT\tCOPY\tLEVEL\tSTATE\tPLACE\tEPC"))
	for _, it := range r.Items {
		place := it.Cabinet
		if it.Holder != "" {
			place = it.Holder
		}
		fmt.Fprintf(w, "%d\t%s\t%d/%d\t%s\t%s\t%s\t%s\n", it.ID, it.Document, it.Copy, it.Copies, c.levelName(it.Level), it.State.Text().In(c.lang), place, it.EPC)
	}
	if len(r.Labels) > 0 {
		line(w, "%s\n", c.say("下一步：打印标签", "next: print the labels"))
		for _, l := range r.Labels {
			line(w, "  %s\n", l)
		}
	}
	w.Flush()
}
