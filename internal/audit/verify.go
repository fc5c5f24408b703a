package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
)

// Break is the first place where a chain does not hold.
type Break struct {
	Index  int    // 1-based position of the record in the export (its line number)
	Seq    int64  // the record's own sequence number, 0 if it could not be read
	Kind   string // "malformed", "altered", "deleted", "inserted", "reordered", "truncated"
	Detail string // English
	ZH     string // the same in zh-CN
}

func (b *Break) Error() string {
	return fmt.Sprintf("audit chain broken at record %d (seq %d): %s: %s", b.Index, b.Seq, b.Kind, b.Detail)
}

// Result summarises a chain that holds.
type Result struct {
	Records int
	Head    string // hash of the last record, Genesis for an empty chain
	LastSeq int64
}

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Head, if set, is a chain head recorded earlier (custodyd logs it; `custodyctl audit head`
	// prints it). The chain must contain a record with that hash, or records were cut off the end.
	Head string
}

const batchSize = 8192

type parsed struct {
	rec  Record
	err  error
	hash string // recomputed
}

// Verify reads an exported chain (one JSON record per line, first record seq 1) and returns the
// first break, as a *Break, or a summary of the intact chain. Parsing and hashing run in parallel
// over batches; linking is checked in order.
func Verify(r io.Reader, opt VerifyOptions) (Result, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	res := Result{Head: Genesis}
	var (
		index   int
		headHit = opt.Head == ""
	)
	lines := make([][]byte, 0, batchSize)
	out := make([]parsed, batchSize)
	for {
		lines = lines[:0]
		for len(lines) < batchSize && sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 {
				continue
			}
			lines = append(lines, append([]byte(nil), line...))
		}
		if err := sc.Err(); err != nil {
			return res, fmt.Errorf("read audit export: %w", err)
		}
		if len(lines) == 0 {
			break
		}
		parseBatch(lines, out[:len(lines)])
		for i := range lines {
			index++
			p := &out[i]
			if p.err != nil {
				return res, &Break{Index: index, Kind: "malformed", Detail: "not a valid record: " + p.err.Error(), ZH: "不是有效的审计记录：" + p.err.Error()}
			}
			rec := &p.rec
			want := res.LastSeq + 1
			switch {
			case p.hash != rec.Hash:
				return res, &Break{Index: index, Seq: rec.Seq, Kind: "altered", Detail: "content does not match its hash", ZH: "内容与其哈希不符"}
			case rec.Prev != res.Head && rec.Seq > want:
				return res, &Break{Index: index, Seq: rec.Seq, Kind: "deleted", Detail: fmt.Sprintf("records %d to %d are missing before it", want, rec.Seq-1), ZH: fmt.Sprintf("其前缺少第 %d 至 %d 条记录", want, rec.Seq-1)}
			case rec.Prev != res.Head && rec.Seq < want:
				return res, &Break{Index: index, Seq: rec.Seq, Kind: "reordered", Detail: fmt.Sprintf("seq %d comes after seq %d", rec.Seq, res.LastSeq), ZH: fmt.Sprintf("序号 %d 出现在序号 %d 之后", rec.Seq, res.LastSeq)}
			case rec.Prev != res.Head && index == 1:
				return res, &Break{Index: index, Seq: rec.Seq, Kind: "inserted", Detail: "the first record does not start the chain", ZH: "第一条记录不是链的起点"}
			case rec.Prev != res.Head && i+1 < len(lines) && out[i+1].err == nil && out[i+1].rec.Prev == rec.Hash:
				// It has the expected seq and its successor follows from it, so it belongs here:
				// the previous record's stored hash was rewritten to match altered content.
				return res, &Break{Index: index - 1, Seq: res.LastSeq, Kind: "altered", Detail: fmt.Sprintf("its hash was rewritten: record %d no longer follows from it", index), ZH: fmt.Sprintf("其哈希被改写：第 %d 条记录不再与之相接", index)}
			case rec.Prev != res.Head:
				return res, &Break{Index: index, Seq: rec.Seq, Kind: "inserted", Detail: "does not follow from the previous record's hash", ZH: "与前一条记录的哈希不相接"}
			case rec.Seq != want:
				return res, &Break{Index: index, Seq: rec.Seq, Kind: "altered", Detail: fmt.Sprintf("sequence number %d, want %d", rec.Seq, want), ZH: fmt.Sprintf("序号为 %d，应为 %d", rec.Seq, want)}
			}
			res.Records++
			res.LastSeq = rec.Seq
			res.Head = rec.Hash
			if rec.Hash == opt.Head {
				headHit = true
			}
		}
	}
	if !headHit {
		return res, &Break{Index: index + 1, Kind: "truncated", Detail: fmt.Sprintf("the recorded head %s is not in the export: records were cut off the end (the export ends at seq %d)", short(opt.Head), res.LastSeq), ZH: fmt.Sprintf("导出文件中没有已记录的链头 %s：末尾记录被截去（导出止于序号 %d）", short(opt.Head), res.LastSeq)}
	}
	return res, nil
}

func parseBatch(lines [][]byte, out []parsed) {
	workers := runtime.GOMAXPROCS(0)
	chunk := (len(lines) + workers - 1) / workers
	var wg sync.WaitGroup
	for w := 0; w < len(lines); w += chunk {
		end := min(w+chunk, len(lines))
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				out[i] = parsed{}
				if err := decodeRecord(lines[i], &out[i].rec); err != nil {
					out[i].err = err
					continue
				}
				if out[i].rec.Seq <= 0 {
					out[i].err = errors.New("missing or non-positive seq")
					continue
				}
				out[i].hash = out[i].rec.digest()
			}
		}(w, end)
	}
	wg.Wait()
}

// WriteJSONL writes records as an export: one compact JSON object per line, HTML characters not
// escaped, so the bytes of before/after stay exactly as hashed.
func WriteJSONL(w io.Writer, recs []Record) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range recs {
		if err := enc.Encode(&recs[i]); err != nil {
			return fmt.Errorf("write audit record %d: %w", recs[i].Seq, err)
		}
	}
	return nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}
