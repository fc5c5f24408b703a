package register

import (
	"context"
	"fmt"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/store"
)

// BorrowLimits bound how long a copy may be out with a reader, per level (issue 13, rule 7 of
// the training material: long use needs a borrowing procedure, reading happens in the office).
// The defaults ([borrowing] in custodyd.toml) are the common practice of secrecy offices:
// 绝密 is read in the reading room only and back the same day; 机密 at most 7 days; 秘密 at most
// 30 days. A carry-out (take_out) is bounded by its approval instead.
type BorrowLimits struct {
	// TopSecretReadingRoomOnly: a 绝密 copy goes out only to the reading room, due the same day.
	TopSecretReadingRoomOnly bool
	// SecretDays and ConfidentialDays: the longest a 机密 / 秘密 copy may be out; 0 means no limit.
	SecretDays, ConfidentialDays int
}

// DefaultBorrowLimits are the limits without configuration.
func DefaultBorrowLimits() BorrowLimits {
	return BorrowLimits{TopSecretReadingRoomOnly: true, SecretDays: 7, ConfidentialDays: 30}
}

// SetBorrowLimits replaces the limits. Call it once, before serving.
func (r *Register) SetBorrowLimits(l BorrowLimits) { r.limits = &l }

func (r *Register) borrowLimits() BorrowLimits {
	if r.limits == nil {
		return DefaultBorrowLimits()
	}
	return *r.limits
}

// checkLimit refuses an item that may not go out on this reader purpose for this long.
func (r *Register) checkLimit(s sessionRow, x row) error {
	if s.purpose == PurposeTakeOut || !purposes[s.purpose].reader {
		return nil
	}
	l := r.borrowLimits()
	n := x.name()
	opened, err := store.ParseTime(s.opens)
	if err != nil {
		opened = r.now()
	}
	due, err := store.ParseTime(s.due)
	if err != nil {
		return nil // no due time: the open step refuses a borrowing without one
	}
	switch x.Level {
	case custody.TopSecret:
		if !l.TopSecretReadingRoomOnly {
			return nil
		}
		if s.purpose != PurposeReadingRoom {
			return refuseT(CodeRefused, n.ZH+"：绝密文件只能在阅文室阅读、当日归还，不得借出或传阅；请改办阅文室阅读（reading_room）",
				n.EN+": a top-secret copy is read in the reading room only and back the same day, never borrowed or circulated; open a reading_room handover")
		}
		o := r.zone.In(opened)
		end := time.Date(o.Year(), o.Month(), o.Day(), 23, 59, 59, 0, o.Location())
		if due.After(end) {
			return refuseT(CodeRefused, fmt.Sprintf("%s：绝密文件须当日归还，归还时间不能晚于 %s", n.ZH, r.zone.Format(end, "2006-01-02 15:04")),
				fmt.Sprintf("%s: a top-secret copy is back the same day, due no later than %s", n.EN, r.zone.Format(end, "2006-01-02 15:04")))
		}
	case custody.Secret, custody.Confidential:
		days := l.SecretDays
		if x.Level == custody.Confidential {
			days = l.ConfidentialDays
		}
		if days > 0 && due.Sub(opened) > time.Duration(days)*24*time.Hour {
			lv := x.Level.Text()
			return refuseT(CodeRefused, fmt.Sprintf("%s：%s文件借阅期限最长 %d 天，请缩短归还时间（到期可归还后再借）", n.ZH, lv.ZH, days),
				fmt.Sprintf("%s: a %s copy is lent for %d days at most; choose an earlier due time (return and borrow again if needed)", n.EN, lv.EN, days))
		}
	}
	return nil
}

// checkOverdue refuses a reader who still holds a copy past its due time: they return it first.
func (r *Register) checkOverdue(ctx context.Context, q querier, p personRow) error {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM items WHERE holder_id = ? AND state IN ('checked_out','out_of_office') AND due_at IS NOT NULL AND due_at < ?`,
		p.ID, store.FormatTime(r.now())).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return refuse(CodeRefused, "%s 有 %d 份涉密文件逾期未还：须先归还机要员，才能再借阅或领取", "%s holds %d items past their due time: they come back to the custodian before anything else goes out", p.Username, n)
	}
	return nil
}
