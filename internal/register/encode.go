package register

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

// Station sends an encode_tag command to the agent serving a desk and returns the agent's
// answer. custodyd's ingest satisfies it (through the daemon's wiring); its errors wrap
// ErrStationOffline or ErrStationSilent when those apply.
type Station interface {
	EncodeTag(ctx context.Context, agent string, cmd wire.EncodeTag) (wire.CmdResult, error)
}

// Conditions of the station a custodian is told about in their words rather than as an internal
// error.
var (
	ErrStationOffline = errors.New("the desk's agent is offline")
	ErrStationSilent  = errors.New("the desk's agent did not answer in time")
)

// The API's shape of it is defined in apitype, which custodyctl shares without linking the
// server.
type Encoding = apitype.Encoding

var encodeTags = custody.Text{ZH: "写RFID标签", EN: "encode RFID tags"}

// EncodeTag writes item id's EPC onto the one tag on the pad of desk's tag-encoding station
// (issue 8). Only custodians encode: the tag is what makes a copy visible in its cabinet. A
// refusal by the station becomes a refusal in the custodian's words; a tag that already carries
// another registered item's EPC is named by that item's number and copy. Each encoding (written,
// or found already done) is one audit record; nothing else changes in the register.
func (r *Register) EncodeTag(ctx context.Context, a Actor, id int64, desk string, st Station) (Encoding, error) {
	if err := need(a, encodeTags, custody.Custodian); err != nil {
		return Encoding{}, err
	}
	it, err := r.Item(ctx, a, id)
	if err != nil {
		return Encoding{}, err
	}
	if it.EPC == "" {
		return Encoding{}, refuse(CodeInvalid, "%s 第%d份没有 EPC：custodyd 未配置单位厂商识别代码（[identity] company_prefix）", "%s copy %d has no EPC: custodyd has no company prefix ([identity] company_prefix)", it.Document, it.Copy)
	}
	switch it.State {
	case custody.Destroyed, custody.TransferredOut, custody.Lost:
		return Encoding{}, refuse(CodeRefused, "%s 第%d份状态为%s，不能再写标签", "%s copy %d is %s; its tag cannot be encoded", it.Document, it.Copy, it.State)
	}
	var agent string
	err = r.st.DB().QueryRowContext(ctx, `SELECT coalesce(agent_id, '') FROM desks WHERE code = ?`, desk).Scan(&agent)
	switch {
	case err == sql.ErrNoRows:
		return Encoding{}, refuse(CodeNotFound, "工作台 %q 不存在", "desk %q does not exist", desk)
	case err != nil:
		return Encoding{}, storeErr("read desk", err)
	case agent == "":
		return Encoding{}, refuse(CodeInvalid, "工作台 %s 没有指定采集代理，无法写标签", "desk %s has no agent; no tag can be encoded there", desk)
	}
	if st == nil {
		return Encoding{}, refuse(CodeUnavailable, "custodyd 未连接 MQTT，无法向工作台发送命令", "custodyd is not connected to MQTT; no command can reach the desk")
	}
	res, err := st.EncodeTag(ctx, agent, wire.EncodeTag{Desk: desk, Item: custody.ItemSubject(id).Audit(), EPC: it.EPC, CompanyPrefix: r.issuer.CompanyPrefix})
	switch {
	case errors.Is(err, ErrStationOffline):
		return Encoding{}, &Error{Code: CodeUnavailable, Err: err, Text: custody.Text{
			ZH: fmt.Sprintf("工作台 %s 的采集代理 %s 离线：请检查该代理后重试", desk, agent),
			EN: fmt.Sprintf("agent %s of desk %s is offline: check the agent, then try again", agent, desk)}}
	case errors.Is(err, ErrStationSilent):
		return Encoding{}, &Error{Code: CodeTimeout, Err: err, Text: custody.Text{
			ZH: fmt.Sprintf("工作台 %s 的采集代理 %s 未及时应答：请确认标签是否已写入（再试一次即可，已写入的不会重写）", desk, agent),
			EN: fmt.Sprintf("agent %s of desk %s did not answer in time: try again (a tag already written is not written twice)", agent, desk)}}
	case err != nil:
		return Encoding{}, fmt.Errorf("encode tag of item %d at desk %s: %w", id, desk, err)
	case res.Tag == nil:
		return Encoding{}, fmt.Errorf("encode tag of item %d at desk %s: agent %s answered without a tag result (ok=%v, error %q): is it older than contract 1.1?", id, desk, agent, res.OK != nil && *res.OK, res.Error)
	}
	if res.Tag.Outcome == wire.TagRefused {
		r.log.Warn("tag encoding refused by the station", "item", id, "desk", desk, "agent", agent, "reason", res.Tag.Reason, "found", res.Tag.EPC, "error", res.Error)
		return Encoding{}, r.stationRefusal(ctx, it, desk, agent, res)
	}
	enc := Encoding{Item: it, Desk: desk, Agent: agent, Outcome: res.Tag.Outcome, EPC: strings.ToUpper(res.Tag.EPC)}
	if enc.EPC != strings.ToUpper(it.EPC) {
		return Encoding{}, fmt.Errorf("encode tag of item %d at desk %s: agent %s reports EPC %s, want %s", id, desk, agent, enc.EPC, it.EPC)
	}
	err = r.st.Change(ctx, func(tx *store.Tx) error {
		return tx.Audit(store.Entry{Actor: a.Username, Action: "item.encode", Subject: custody.ItemSubject(id).Audit(),
			After: map[string]any{"epc": enc.EPC, "desk": desk, "agent": agent, "outcome": enc.Outcome}})
	})
	if err != nil {
		return Encoding{}, storeErr("record tag encoding", err)
	}
	return enc, nil
}

// stationRefusal says in the custodian's words why the station wrote nothing.
func (r *Register) stationRefusal(ctx context.Context, it Item, desk, agent string, res wire.CmdResult) error {
	t := res.Tag
	code := CodeRefused
	var zh, en string
	switch t.Reason {
	case wire.TagOtherItem:
		code = CodeConflict
		owner, err := scanItem(r.st.DB().QueryRowContext(ctx, itemSelect+" WHERE upper(i.epc) = ?", strings.ToUpper(t.EPC)))
		switch {
		case err == nil:
			zh = fmt.Sprintf("该标签已属于 %s 第%d份（EPC %s），不能改写为 %s 第%d份；请换一张空白标签", owner.Document, owner.Copy, t.EPC, it.Document, it.Copy)
			en = fmt.Sprintf("this tag already belongs to %s copy %d (EPC %s) and is not rewritten for %s copy %d; use a blank tag", owner.Document, owner.Copy, t.EPC, it.Document, it.Copy)
		case err == sql.ErrNoRows:
			zh = fmt.Sprintf("该标签带有本单位的 EPC %s，但登记簿中没有对应的文件份；未改写，请交安全保密管理员核查", t.EPC)
			en = fmt.Sprintf("this tag carries %s, an EPC under our company prefix that no registered item has; not rewritten — have the security administrator look into it", t.EPC)
		default:
			return storeErr("find the item owning a tag", err)
		}
	case wire.TagNoTag:
		zh, en = fmt.Sprintf("工作台 %s 的写标签区内没有标签：请把 %s 第%d份放在读写器上", desk, it.Document, it.Copy), fmt.Sprintf("no tag on the pad of desk %s: lay %s copy %d on the reader", desk, it.Document, it.Copy)
	case wire.TagSeveral:
		zh, en = fmt.Sprintf("工作台 %s 的写标签区内有 %d 张标签：只放要写的这一份", desk, t.Seen), fmt.Sprintf("%d tags on the pad of desk %s: leave only the copy to encode", t.Seen, desk)
	case wire.TagVerify:
		zh, en = "已写入但回读未见新的 EPC：请重试或换一张标签", "written but reading back did not show the new EPC: try again or use another tag"
	case wire.TagReaderDown:
		code = CodeUnavailable
		zh, en = fmt.Sprintf("工作台 %s 的写标签读写器未连接", desk), fmt.Sprintf("the tag reader of desk %s is not connected", desk)
	case wire.TagNoStation:
		code = CodeUnavailable
		zh, en = fmt.Sprintf("采集代理 %s 没有为工作台 %s 配置写标签读写器（读写器 station 配置项）", agent, desk), fmt.Sprintf("agent %s has no tag-encoding station for desk %s (reader key station)", agent, desk)
	case wire.TagStale:
		zh, en = "命令等待过久，读写器未执行：请重试", "the command waited too long and was not executed: try again"
	default:
		zh, en = "读写器拒绝写入："+res.Error, "the reader refused the write: "+res.Error
	}
	return &Error{Code: code, Text: custody.Text{ZH: zh, EN: en}}
}
