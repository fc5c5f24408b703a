package reconcile

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/custodyhq/custody/internal/custody"
)

// Input is everything one reconciliation of one cabinet's inventory round needs.
type Input struct {
	Now    time.Time `json:"now"`
	Policy Policy    `json:"policy"`
	Report Report    `json:"report"`
	// Items is the register snapshot: every item registered in the cabinet (in_cabinet or
	// awaiting destruction there), plus every item whose EPC the report read, wherever it is
	// registered.
	Items []Item `json:"items"`
	// Doors are the cabinet's door cycles since its previous complete round.
	Doors []Door `json:"doors,omitempty"`
	// Elsewhere holds, by EPC, the latest reads of tags in other cabinets' rounds.
	Elsewhere map[string]Sighting `json:"elsewhere,omitempty"`
	// Open are the cabinet's open findings from earlier rounds.
	Open []Finding `json:"open,omitempty"`
	// History holds, by EPC (upper-case), how well each expected tag was read in this cabinet's
	// earlier complete rounds, the rounds that missed it included. It makes the chance that a
	// present tag went unread the chance for that tag, not for the typical one: a tag read on 62 %
	// of passes misses a four-pass round about 2 % of the time however well the others read. Nil:
	// no history, the round's own prior alone.
	History map[string]TagHistory `json:"history,omitempty"`
	// IsOurs tells our company's EPCs (package epc) from foreign tags; nil: none are ours.
	IsOurs func(epc string) bool `json:"-"`
}

// Reconcile compares one inventory round of one cabinet with the register.
func Reconcile(in Input) Result {
	p := in.Policy.Defaults()
	r := in.Report
	c := r.Cabinet
	var res Result

	byEPC := make(map[string]*Item, len(in.Items))
	for i := range in.Items {
		if e := normEPC(in.Items[i].EPC); e != "" {
			byEPC[e] = &in.Items[i]
		}
	}
	seen := make(map[string]*Tag, len(r.Tags))
	for i := range r.Tags {
		seen[normEPC(r.Tags[i].EPC)] = &r.Tags[i]
	}
	var expected []*Item
	for i := range in.Items {
		it := &in.Items[i]
		if it.State == custody.InCabinet && it.Cabinet == c && normEPC(it.EPC) != "" {
			expected = append(expected, it)
		}
	}
	open := make(map[Key]*Finding, len(in.Open))
	for i := range in.Open {
		open[in.Open[i].Key()] = &in.Open[i]
	}

	res.Stats = roundStats(r, expected, seen)
	reason := incomplete(r, in.Doors)
	keep := map[Key]bool{} // open findings neither re-raised nor cleared

	// Tags that are here: whatever the round's completeness, a read is a read.
	for i := range r.Tags {
		tag := &r.Tags[i]
		e := normEPC(tag.EPC)
		it := byEPC[e]
		conf := Confirmed
		if !firm(tag, r.Passes, p) {
			conf = Suspected // a stray read: if it means something, the confirming round reads it again
		}
		t := *tag
		if it == nil {
			res.Confirm = res.Confirm || conf == Suspected
			ours := in.IsOurs != nil && in.IsOurs(e)
			f := Finding{Kind: UnknownTag, Subject: "tag/" + e, Confidence: conf, Cabinet: c, Agent: r.Agent, EPC: e, Ours: ours, At: r.End,
				Evidence: Evidence{Rounds: []RoundStats{res.Stats}, Tag: &t, LastSeen: tag.Last}}
			if ours {
				f.Text = custody.Text{ZH: fmt.Sprintf("柜 %s 读到本单位标签 %s，但登记簿中没有对应文件", c, e), EN: fmt.Sprintf("cabinet %s read our tag %s, which is not in the register", c, e)}
			} else {
				f.Text = custody.Text{ZH: fmt.Sprintf("柜 %s 读到外来标签 %s", c, e), EN: fmt.Sprintf("cabinet %s read a foreign tag %s", c, e)}
			}
			res.Findings = append(res.Findings, f)
			continue
		}
		f := itemFinding(*it, c, r.Agent, r.End)
		f.Confidence = conf
		f.Evidence = Evidence{Rounds: []RoundStats{res.Stats}, Tag: &t, LastSeen: tag.Last, LastEvent: it.LastEvent}
		switch {
		case it.State == custody.SentForDestruction:
			f.Kind = SentSeen
			f.Text = custody.Text{ZH: fmt.Sprintf("文件 %s 已送销（交保密局销毁），却在柜 %s 被读到", it.Number, c), EN: fmt.Sprintf("item %s was sent to the secrecy bureau for destruction but was read in cabinet %s", it.Number, c)}
		case it.State == custody.Destroyed:
			f.Kind = DestroyedSeen
			f.Text = custody.Text{ZH: fmt.Sprintf("已销毁的文件 %s 的标签在柜 %s 被读到", it.Number, c), EN: fmt.Sprintf("the tag of destroyed item %s was read in cabinet %s", it.Number, c)}
		case (it.State == custody.InCabinet || it.State == custody.DestructionPending) && it.Cabinet == c:
			continue // where the register says
		case it.State == custody.InCabinet:
			s, sighted := in.Elsewhere[e]
			if sighted && s.Cabinet == it.Cabinet && crossRead(tag, r.Passes, s, in.Now, p) {
				continue // read through the wall from the neighbouring cabinet, where it also was read, better
			}
			if !sighted && weak(tag, r.Passes, res.Stats.ReadRate) {
				// Read here far less often than this cabinet's own items, and its home cabinet has
				// not reported yet (cabinets of one agent are inventoried one after another): most
				// likely a cross-read. Its home cabinet's round decides; until then only suspected.
				conf = Suspected
				f.Confidence = conf
			}
			f.Kind = Misplaced
			f.Evidence.Reason = "registered_in_" + it.Cabinet
			if s, ok := in.Elsewhere[e]; ok {
				f.Evidence.Elsewhere = &s
			}
			f.Text = custody.Text{ZH: fmt.Sprintf("文件 %s 登记在柜 %s，却在柜 %s 被读到", it.Number, it.Cabinet, c), EN: fmt.Sprintf("item %s is registered in cabinet %s but was read in cabinet %s", it.Number, it.Cabinet, c)}
		case it.State == custody.CheckedOut || it.State == custody.OutOfOffice || it.State == custody.InTransit || it.State == custody.Lost:
			f.Kind = UnrecordedReturn
			f.Evidence.Reason = string(it.State)
			f.Text = custody.Text{ZH: fmt.Sprintf("文件 %s 登记为%s，却在柜 %s 被读到，未办理归还", it.Number, it.State.Text().ZH, c), EN: fmt.Sprintf("item %s is registered as %s but was read in cabinet %s without a recorded return", it.Number, strings.ToLower(it.State.Text().EN), c)}
		default:
			f.Kind = Misplaced
			f.Evidence.Reason = string(it.State)
			f.Text = custody.Text{ZH: fmt.Sprintf("文件 %s 登记为%s，却在柜 %s 被读到", it.Number, it.State.Text().ZH, c), EN: fmt.Sprintf("item %s is registered as %s but was read in cabinet %s", it.Number, strings.ToLower(it.State.Text().EN), c)}
		}
		res.Confirm = res.Confirm || conf == Suspected
		res.Findings = append(res.Findings, f)
	}

	if reason != "" {
		res.Confirm = true
		res.Findings = append(res.Findings, Finding{Kind: InventoryIncomplete, Subject: "cabinet/" + c, Confidence: Confirmed, Cabinet: c, Agent: r.Agent, At: r.End,
			Evidence: Evidence{Rounds: []RoundStats{res.Stats}, Reason: reason},
			Text:     custody.Text{ZH: fmt.Sprintf("柜 %s 的清点不完整（%s），不据此判定缺失，已要求重新清点", c, reasonText[reason].ZH), EN: fmt.Sprintf("the inventory of cabinet %s is incomplete (%s); no item is called missing from it and a new round is due", c, reasonText[reason].EN)}})
	} else {
		// Tags that are not here. Only a complete round may say so.
		for _, it := range expected {
			e := normEPC(it.EPC)
			if seen[e] != nil {
				continue
			}
			if s, ok := in.Elsewhere[e]; ok && s.Cabinet != c && in.Now.Sub(s.At) <= p.SightingWindow && s.Passes >= p.FirmPasses {
				continue // firmly read in another cabinet: that cabinet's round calls it misplaced
			}
			kind := Missing
			var door *Door
			for i := range in.Doors {
				d := in.Doors[i]
				if d.Open.Before(r.Start) && (door == nil || d.Open.After(door.Open)) {
					door = &d
				}
			}
			if door != nil {
				if !door.Close.IsZero() && in.Now.Before(door.Close.Add(p.RemovalGrace)) {
					// The custodian may still record the checkout; look again when the grace ends.
					if t := door.Close.Add(p.RemovalGrace); res.RecheckAt.IsZero() || t.Before(res.RecheckAt) {
						res.RecheckAt = t
					}
					keep[Key{Missing, itemSubject(it.ID)}] = true
					keep[Key{UnrecordedRemoval, itemSubject(it.ID)}] = true
					continue
				}
				kind = UnrecordedRemoval
			}
			f := itemFinding(*it, c, r.Agent, r.End)
			f.Kind = kind
			pu := round6(TagPUnread(res.Stats, in.History[e]))
			f.Evidence = Evidence{Rounds: []RoundStats{res.Stats}, LastEvent: it.LastEvent, Door: door, Misses: 1, PUnread: pu}
			if s, ok := in.Elsewhere[e]; ok {
				f.Evidence.Elsewhere = &s
			}
			// Carry the earlier misses of the same item, from other rounds only: the same round
			// delivered twice is not independent evidence.
			for _, k := range []Kind{Missing, UnrecordedRemoval} {
				prev := open[Key{k, f.Subject}]
				if prev == nil {
					continue
				}
				f.Evidence.LastSeen = prev.Evidence.LastSeen
				if prev.Kind == UnrecordedRemoval && f.Kind == Missing {
					// The door cycle that explains the absence was accounted for by the first
					// round; the confirming round inherits it with the misses.
					f.Kind, f.Evidence.Door = UnrecordedRemoval, prev.Evidence.Door
				}
				if slices.ContainsFunc(prev.Evidence.Rounds, func(s RoundStats) bool { return s.Round == r.Round }) {
					f.Evidence.Rounds, f.Evidence.Misses, f.Evidence.PUnread = prev.Evidence.Rounds, prev.Evidence.Misses, prev.Evidence.PUnread
				} else {
					f.Evidence.Rounds = append(slices.Clone(prev.Evidence.Rounds), res.Stats)
					f.Evidence.Misses = prev.Evidence.Misses + 1
					f.Evidence.PUnread = round6(prev.Evidence.PUnread * pu)
				}
				break
			}
			if (f.Evidence.Misses >= 2 && f.Evidence.PUnread <= p.MaxUnread) || f.Evidence.Misses >= p.MaxMisses {
				f.Confidence = Confirmed
			} else {
				f.Confidence = Suspected
				res.Confirm = true
			}
			pct := fmt.Sprintf("%.2g%%", 100*f.Evidence.PUnread)
			if f.Evidence.PUnread < 1e-4 {
				// Every tag read on every pass estimates 0 exactly; the rounds cannot show less
				// than this, so say so rather than a certainty.
				pct = "<0.01%"
			}
			if f.Kind == Missing {
				f.Text = custody.Text{ZH: fmt.Sprintf("文件 %s 应在柜 %s，连续 %d 次清点未读到（在柜却漏读的概率约 %s）", it.Number, c, f.Evidence.Misses, pct), EN: fmt.Sprintf("item %s should be in cabinet %s and was not read in %d round(s) (chance a present tag went unread ≈ %s)", it.Number, c, f.Evidence.Misses, pct)}
			} else {
				grace := custody.SpanText(p.RemovalGrace) // 1 分钟, not Go's 1m0s
				f.Text = custody.Text{ZH: fmt.Sprintf("柜 %s 开门后文件 %s 不在柜内，且 %s内未在工作台办理交接（借阅、传阅、携带外出或送销）", c, it.Number, grace.ZH), EN: fmt.Sprintf("item %s left cabinet %s during a door cycle and no handover (borrowing, circulation, carry-out or 送销) was recorded at a desk within %s", it.Number, c, grace.EN)}
			}
			res.Findings = append(res.Findings, f)
		}
	}

	// What ended. A complete round speaks for everything in the cabinet; an incomplete one only
	// for the tags it did read.
	raised := make(map[Key]bool, len(res.Findings))
	for _, f := range res.Findings {
		raised[f.Key()] = true
	}
	for _, f := range in.Open {
		k := f.Key()
		if raised[k] || keep[k] || f.Cabinet != c {
			continue
		}
		switch f.Kind {
		case Missing, UnrecordedRemoval:
			if reason != "" && seen[normEPC(f.EPC)] == nil {
				continue
			}
		case Misplaced, UnrecordedReturn, DestroyedSeen, UnknownTag:
			if reason != "" {
				continue
			}
		case InventoryIncomplete, InventoryMissed:
		default:
			continue
		}
		res.Cleared = append(res.Cleared, k)
	}
	sortFindings(res.Findings)
	slices.SortFunc(res.Cleared, func(a, b Key) int { return strings.Compare(string(a.Kind)+a.Subject, string(b.Kind)+b.Subject) })
	return res
}

var reasonText = map[string]custody.Text{
	"interrupted":           {ZH: "清点被中断", EN: "the round was interrupted"},
	"antenna_fault":         {ZH: "天线故障", EN: "an antenna failed"},
	"door_opened_mid_round": {ZH: "清点期间柜门被打开", EN: "the door was opened during the round"},
	"no_passes":             {ZH: "未完成任何一遍读取", EN: "no pass was run"},
}

// incomplete says why a round cannot vouch for absence, or "" if it can.
func incomplete(r Report, doors []Door) string {
	for _, d := range doors {
		if d.Cabinet != "" && d.Cabinet != r.Cabinet {
			continue
		}
		if !d.Open.After(r.End) && (d.Close.IsZero() || !d.Close.Before(r.Start)) {
			return "door_opened_mid_round" // hands and items moving while it read
		}
	}
	switch {
	case !r.Complete:
		return "interrupted"
	case r.Passes <= 0:
		return "no_passes"
	}
	for _, a := range r.Antennas {
		if !a.OK {
			return "antenna_fault"
		}
	}
	return ""
}

func itemSubject(id int64) string { return custody.ItemSubject(id).Finding() }

func itemFinding(it Item, cabinet, agent string, at time.Time) Finding {
	return Finding{Subject: itemSubject(it.ID), Cabinet: cabinet, Agent: agent, ItemID: it.ID, Item: it.Number, Level: it.Level, EPC: normEPC(it.EPC), Holder: it.Holder, At: at}
}

func normEPC(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

func passesOf(t *Tag, n int) int {
	if t.Passes > 0 {
		return min(t.Passes, max(n, t.Passes))
	}
	return min(t.Reads, n)
}

// firm: read on enough passes that it was really there, not a stray reflection.
func firm(t *Tag, n int, p Policy) bool {
	return passesOf(t, n) >= min(p.FirmPasses, max(n, 1)) || (n <= 1 && t.Reads >= p.FirmPasses)
}

// weak: read on less than half as many passes as this round's own items typically are.
func weak(t *Tag, n int, readRate float64) bool {
	return n > 0 && readRate > 0 && float64(passesOf(t, n))/float64(n) < readRate/2
}

// crossRead: the tag belongs to the cabinet the sighting is from, was read there within the
// window, and read there at least as well as here — so here it leaked through from next door.
func crossRead(t *Tag, n int, s Sighting, now time.Time, p Policy) bool {
	if now.Sub(s.At) > p.SightingWindow || s.Of <= 0 || s.Passes <= 0 {
		return false
	}
	here := float64(passesOf(t, n)) / float64(max(n, 1))
	there := float64(s.Passes) / float64(s.Of)
	return there >= here
}

// roundStats fits the per-pass read probability from the expected tags the round read.
//
// Each present tag is read on each of N passes with probability q (model M0 of capture–recapture).
// Only tags read at least once are visible, so the counts follow a zero-truncated binomial whose
// mean is Nq / (1 − (1−q)^N); solving that for the observed mean gives q, and (1−q)^N is then the
// chance that a present tag was read on no pass at all. Chao's f1²/(2·f2) estimates how many
// present tags went unread, from the tags read exactly once and twice.
func roundStats(r Report, expected []*Item, seen map[string]*Tag) RoundStats {
	st := RoundStats{Round: r.Round, Start: r.Start, End: r.End, Passes: r.Passes, Complete: r.Complete, Antennas: r.Antennas, Expected: len(expected)}
	n := r.Passes
	var sum, f1, f2 float64
	var counts []int
	for _, it := range expected {
		t := seen[normEPC(it.EPC)]
		if t == nil {
			continue
		}
		st.Read++
		k := passesOf(t, n)
		counts = append(counts, k)
		sum += float64(k)
		switch k {
		case 1:
			f1++
		case 2:
			f2++
		}
	}
	switch {
	case st.Read == 0 || n <= 0:
		st.ReadRate = 0
	case n == 1:
		// One pass says nothing about per-pass rates; the share of expected tags read is a
		// lower bound (some may truly be gone), so the estimate errs towards "maybe unread".
		st.ReadRate = float64(st.Read) / float64(st.Expected)
	default:
		st.ReadRate = fitTruncatedBinomial(sum/float64(st.Read), n)
	}
	st.PriorWeight = priorWeight(st.ReadRate, n, counts)
	st.PUnread = TagPUnread(st, TagHistory{})
	if f2 > 0 {
		st.Unseen = f1 * f1 / (2 * f2)
	} else if f1 > 0 {
		st.Unseen = f1 * (f1 - 1) / 2 // the bias-corrected form when no tag was read twice
	}
	st.ReadRate = round4(st.ReadRate)
	st.PriorWeight = round4(st.PriorWeight)
	st.PUnread = round6(st.PUnread)
	st.Unseen = round4(st.Unseen)
	return st
}

// Bounds of PriorWeight. At least a couple of passes' worth, so one tag's own record soon
// outweighs the cabinet's typical rate; at most maxPriorWeight, so even a cabinet whose tags
// all read alike leaves room for one that does not (a copy lying flat against the steel).
const (
	minPriorWeight = 2
	maxPriorWeight = 6
)

// priorWeight fits the strength α+β of a Beta prior over per-tag read probabilities from the
// spread of the read tags' counts over n passes (beta-binomial method of moments): counts that
// spread more than a binomial's mean the tags differ, and the prior is weak. Tags never read are
// not in counts, which hides the weakest and makes the spread look smaller: the cap allows for it.
func priorWeight(mean float64, n int, counts []int) float64 {
	if n < 2 || len(counts) < 2 || mean <= 0 || mean >= 1 {
		return maxPriorWeight
	}
	var m, v float64
	for _, k := range counts {
		m += float64(k)
	}
	m /= float64(len(counts))
	for _, k := range counts {
		v += (float64(k) - m) * (float64(k) - m)
	}
	v /= float64(len(counts) - 1)
	binom := float64(n) * mean * (1 - mean)
	rho := (v/binom - 1) / float64(n-1) // intra-class correlation = 1/(α+β+1)
	if rho <= 0 {
		return maxPriorWeight
	}
	return min(max(1/rho-1, minPriorWeight), maxPriorWeight)
}

// TagPUnread is the chance that a present tag is read on none of the round's passes, given its
// own read history h: with the round's prior Beta(α0, β0) (mean ReadRate, strength PriorWeight)
// updated by h to Beta(α, β), it is E[(1-p)^N] = Π_{i<N} (β+i)/(α+β+i), N the round's passes.
// Averaging over what p may be, rather than plugging in one estimate, is what keeps a tag read
// on 62 % of passes from being shown as "<0.01 %" because the other tags read well: with little
// history the figure is wide, with much it approaches (1-p)^N for that tag.
func TagPUnread(st RoundStats, h TagHistory) float64 {
	n := st.Passes
	if n <= 0 {
		return 1
	}
	w := st.PriorWeight
	if w <= 0 {
		w = maxPriorWeight
	}
	a := st.ReadRate*w + float64(max(h.Read, 0))
	b := (1-st.ReadRate)*w + float64(max(h.Passes-h.Read, 0))
	if b <= 0 {
		return 0
	}
	p := 1.0
	for i := range n {
		p *= (b + float64(i)) / (a + b + float64(i))
		if p < 1e-12 {
			return p
		}
	}
	return p
}

// fitTruncatedBinomial solves mean = n·q / (1 − (1−q)^n) for q by bisection; the right side
// rises from 1 (q→0) to n (q=1).
func fitTruncatedBinomial(mean float64, n int) float64 {
	if mean >= float64(n) {
		return 1
	}
	if mean <= 1 {
		return 0
	}
	lo, hi := 1e-9, 1.0
	for range 100 {
		q := (lo + hi) / 2
		m := float64(n) * q / (1 - math.Pow(1-q, float64(n)))
		if m < mean {
			lo = q
		} else {
			hi = q
		}
	}
	return (lo + hi) / 2
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// round6 keeps six significant digits so golden files stay stable across platforms.
func round6(v float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 6, 64), 64)
	return r
}

func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if c := strings.Compare(string(a.Kind), string(b.Kind)); c != 0 {
			return c
		}
		return strings.Compare(a.Subject, b.Subject)
	})
}

// HistoryWindow bounds how many passes a tag's history remembers: beyond it, older passes are
// scaled down, so a copy moved to a better shelf is judged by how it reads now.
const HistoryWindow = 400

// AddHistory adds one complete round to the read histories: every item registered in the
// round's cabinet (in_cabinet there, with an EPC) gets the round's passes and the passes that read
// it — a miss counts, so the estimate for the next round is conditioned on it, which is what makes
// the product of the rounds' chances the joint chance. Call it after Reconcile, only for a round
// that Reconcile did not call incomplete; the caller keeps h (package alert does, per cabinet).
func AddHistory(h map[string]TagHistory, r Report, items []Item) {
	if r.Passes <= 0 {
		return
	}
	seen := make(map[string]*Tag, len(r.Tags))
	for i := range r.Tags {
		seen[normEPC(r.Tags[i].EPC)] = &r.Tags[i]
	}
	for _, it := range items {
		e := normEPC(it.EPC)
		if e == "" || it.State != custody.InCabinet || it.Cabinet != r.Cabinet {
			continue
		}
		read := 0
		if t := seen[e]; t != nil {
			read = passesOf(t, r.Passes)
		}
		x := h[e]
		x.Passes += r.Passes
		x.Read += read
		if x.Passes > HistoryWindow {
			x.Read = int(math.Round(float64(x.Read) * HistoryWindow / float64(x.Passes)))
			x.Passes = HistoryWindow
		}
		h[e] = x
	}
}
