package audit

import (
	"bytes"
	"encoding/hex"
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
	Mark    string // the export's secrecy mark (MarkLine), "" if it bears none
	// Segments are the runs of records hashed with one algorithm, in order: one for a chain that
	// never switched profile, two or more across switches (each new one starts at a marked
	// record, ActionProfile).
	Segments []Segment
}

// Segment is a run of records hashed with one algorithm.
type Segment struct {
	Alg      string // SHA256 or SM3
	From, To int64  // sequence numbers, inclusive
}

// An export names documents by number and level, so it is a carrier like a paper and bears the
// mark of the most secret thing in the register (机密★10年, issue 14 point 9) on its first line,
// as a CSV export does: {"mark":"机密★10年"}. The mark is outside the chain — it says how the file
// is kept, not what happened — so Verify reads it and checks the records after it.
type markLine struct {
	Mark string `json:"mark"`
}

var markPrefix = []byte(`{"mark":`)

// MarkLine is the first line of an export bearing mark.
func MarkLine(mark string) []byte {
	b, _ := json.Marshal(markLine{mark})
	return append(b, '\n')
}

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Head, if set, is a chain head recorded earlier (custodyd logs it; `custodyctl audit head`
	// prints it). The chain must contain a record with that hash, or records were cut off the end.
	Head string
}

// chunkSize is how much of the export is read at once; its complete lines are one batch, checked
// in parallel. Larger chunks amortise the goroutine hand-off; 4 MiB is about 14 000 records.
const chunkSize = 4 << 20

// maxLine bounds one record's line, so a file without newlines cannot take all memory.
const maxLine = 16 << 20

// checked is what a worker learned about one line: enough for the in-order link checks, without
// a Record. prev and hash are slices of the line, valid until the next chunk is read.
type checked struct {
	seq        int64
	prev, hash []byte
	err        error // the line is not a record
	altered    bool  // the content does not match its hash
	alg        []byte
	mark       bool // the record is a profile switch (ActionProfile)
}

// Verify reads an exported chain (one JSON record per line, first record seq 1) and returns the
// first break, as a *Break, or a summary of the intact chain. The export is read in large chunks;
// parsing and hashing run in parallel over each chunk's lines, straight from the bytes read (no
// Record, no per-line copy, no allocation for a record as custodyd writes it); linking is checked
// in order.
func Verify(r io.Reader, opt VerifyOptions) (Result, error) {
	res := Result{Head: Genesis}
	var (
		index    int
		headHit  = opt.Head == ""
		wantHead = []byte(opt.Head)
		head     = append(make([]byte, 0, 128), Genesis...)
		alg      string // the previous record's Alg as written
		lr       = lineReader{r: r, buf: make([]byte, chunkSize)}
		lines    [][]byte
		out      []checked
		work     = newWorkers(runtime.GOMAXPROCS(0))
	)
	for {
		var err error
		lines, err = lr.next(lines[:0])
		if err != nil {
			return res, fmt.Errorf("read audit export: %w", err)
		}
		if len(lines) == 0 {
			break
		}
		if index == 0 && res.Records == 0 && bytes.HasPrefix(lines[0], markPrefix) {
			var m markLine
			if err := json.Unmarshal(lines[0], &m); err != nil || m.Mark == "" {
				return res, &Break{Index: 1, Kind: "malformed", Detail: "not a valid mark line", ZH: "密级标志行格式损坏"}
			}
			res.Mark, index, lines = m.Mark, 1, lines[1:] // Index stays the line number
			if len(lines) == 0 {
				continue
			}
		}
		if cap(out) < len(lines) {
			out = make([]checked, len(lines))
		}
		out = out[:len(lines)]
		work.check(lines, out)
		for i := range out {
			index++
			p := &out[i]
			if p.err != nil {
				return res, &Break{Index: index, Kind: "malformed", Detail: "not a valid record: " + p.err.Error(), ZH: "不是有效的审计记录：" + p.err.Error()}
			}
			linked := bytes.Equal(p.prev, head)
			want := res.LastSeq + 1
			switch {
			case p.altered:
				return res, &Break{Index: index, Seq: p.seq, Kind: "altered", Detail: "content does not match its hash", ZH: "内容与其哈希不符"}
			case !linked && p.seq > want:
				return res, &Break{Index: index, Seq: p.seq, Kind: "deleted", Detail: fmt.Sprintf("records %d to %d are missing before it", want, p.seq-1), ZH: fmt.Sprintf("其前缺少第 %d 至 %d 条记录", want, p.seq-1)}
			case !linked && p.seq < want:
				return res, &Break{Index: index, Seq: p.seq, Kind: "reordered", Detail: fmt.Sprintf("seq %d comes after seq %d", p.seq, res.LastSeq), ZH: fmt.Sprintf("序号 %d 出现在序号 %d 之后", p.seq, res.LastSeq)}
			case !linked && res.Records == 0:
				return res, &Break{Index: index, Seq: p.seq, Kind: "inserted", Detail: "the first record does not start the chain", ZH: "第一条记录不是链的起点"}
			case !linked && i+1 < len(out) && out[i+1].err == nil && bytes.Equal(out[i+1].prev, p.hash):
				// It has the expected seq and its successor follows from it, so it belongs here:
				// the previous record's stored hash was rewritten to match altered content.
				return res, &Break{Index: index - 1, Seq: res.LastSeq, Kind: "altered", Detail: fmt.Sprintf("its hash was rewritten: record %d no longer follows from it", index), ZH: fmt.Sprintf("其哈希被改写：第 %d 条记录不再与之相接", index)}
			case !linked:
				return res, &Break{Index: index, Seq: p.seq, Kind: "inserted", Detail: "does not follow from the previous record's hash", ZH: "与前一条记录的哈希不相接"}
			case p.seq != want:
				return res, &Break{Index: index, Seq: p.seq, Kind: "altered", Detail: fmt.Sprintf("sequence number %d, want %d", p.seq, want), ZH: fmt.Sprintf("序号为 %d，应为 %d", p.seq, want)}
			}
			if res.Records == 0 || string(p.alg) != alg {
				action := ""
				if p.mark {
					action = ActionProfile
				}
				if res.Records > 0 && !SwitchAllowed(alg, string(p.alg), action) {
					return res, &Break{Index: index, Seq: p.seq, Kind: "altered", Detail: fmt.Sprintf("its hash algorithm changes from %s to %s without a profile-switch record (%s)", algOf(alg), algOf(p.alg), ActionProfile), ZH: fmt.Sprintf("哈希算法由 %s 变为 %s，但该记录不是密码配置切换记录", algOf(alg), algOf(p.alg))}
				}
				alg = string(p.alg)
				if n := len(res.Segments); n == 0 || res.Segments[n-1].Alg != algOf(alg) {
					res.Segments = append(res.Segments, Segment{Alg: algOf(alg), From: p.seq})
				}
			}
			res.Segments[len(res.Segments)-1].To = p.seq
			res.Records++
			res.LastSeq = p.seq
			head = append(head[:0], p.hash...) // the chunk holding p.hash is reused for the next read
			if !headHit && bytes.Equal(p.hash, wantHead) {
				headHit = true
			}
		}
	}
	res.Head = string(head)
	if !headHit {
		return res, &Break{Index: index + 1, Kind: "truncated", Detail: fmt.Sprintf("the recorded head %s is not in the export: records were cut off the end (the export ends at seq %d)", short(opt.Head), res.LastSeq), ZH: fmt.Sprintf("导出文件中没有已记录的链头 %s：末尾记录被截去（导出止于序号 %d）", short(opt.Head), res.LastSeq)}
	}
	return res, nil
}

// lineReader hands out the complete, non-blank lines of an export a chunk at a time, as slices
// of its own buffer (valid until the next call).
type lineReader struct {
	r          io.Reader
	buf        []byte
	start, end int // buf[start:end] is read but not yet handed out
	eof        bool
}

func (l *lineReader) next(lines [][]byte) ([][]byte, error) {
	for {
		// Keep the unfinished line, then fill the rest of the buffer.
		n := copy(l.buf, l.buf[l.start:l.end])
		l.start, l.end = 0, n
		for !l.eof && l.end < len(l.buf) {
			k, err := l.r.Read(l.buf[l.end:])
			l.end += k
			if errors.Is(err, io.EOF) {
				l.eof = true
			} else if err != nil {
				return lines, err
			}
			if k == 0 && err == nil {
				break // a reader with nothing for now; take what is there
			}
		}
		data := l.buf[:l.end]
		if l.eof && len(data) == 0 {
			return lines, nil
		}
		last := bytes.LastIndexByte(data, '\n')
		if l.eof {
			last = len(data) - 1 // the final line needs no newline
		}
		if last < 0 {
			if l.end < len(l.buf) {
				continue // a slow reader: wait for the end of the line
			}
			if len(l.buf) >= maxLine {
				return lines, fmt.Errorf("a line longer than %d MiB", maxLine>>20)
			}
			l.buf = append(l.buf, make([]byte, len(l.buf))...) // one very long record
			continue
		}
		for rest := data[:last+1]; len(rest) > 0; {
			line := rest
			if i := bytes.IndexByte(rest, '\n'); i >= 0 {
				line, rest = rest[:i], rest[i+1:]
			} else {
				rest = nil
			}
			if line = bytes.TrimSpace(line); len(line) > 0 {
				lines = append(lines, line)
			}
		}
		l.start = last + 1
		if len(lines) > 0 || l.eof {
			return lines, nil
		}
	}
}

// workers check a batch of lines in parallel, each with its own scratch buffer for the bytes it
// hashes, kept from batch to batch.
type workers struct {
	scratch [][]byte
}

func newWorkers(n int) *workers {
	w := &workers{scratch: make([][]byte, max(n, 1))}
	for i := range w.scratch {
		w.scratch[i] = make([]byte, 0, 1024)
	}
	return w
}

func (w *workers) check(lines [][]byte, out []checked) {
	n := min(len(w.scratch), len(lines))
	chunk := (len(lines) + n - 1) / n
	var wg sync.WaitGroup
	for k := 1; k < n; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			lo, hi := k*chunk, min((k+1)*chunk, len(lines))
			w.scratch[k] = checkLines(lines[lo:hi], out[lo:hi], w.scratch[k])
		}(k)
	}
	w.scratch[0] = checkLines(lines[:min(chunk, len(lines))], out[:min(chunk, len(lines))], w.scratch[0])
	wg.Wait()
}

func checkLines(lines [][]byte, out []checked, scratch []byte) []byte {
	var v view
	var got [64]byte
	for i, line := range lines {
		out[i] = checked{}
		if err := v.parse(line); err != nil {
			out[i].err = err
			continue
		}
		if v.seq <= 0 {
			out[i].err = errors.New("missing or non-positive seq")
			continue
		}
		var sum [32]byte
		scratch, sum = v.sum(scratch)
		hex.Encode(got[:], sum[:])
		out[i] = checked{seq: v.seq, prev: v.prev, hash: v.hash, altered: !bytes.Equal(got[:], v.hash),
			alg: v.alg, mark: string(v.action) == ActionProfile}
	}
	return scratch
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
