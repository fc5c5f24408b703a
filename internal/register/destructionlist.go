package register

import (
	"context"

	"github.com/custodyhq/custody/internal/custody"
)

// DestructionList is a destruction batch as its list (销毁清册) prints it: the copies listed, why,
// who listed them, and the leader's decision once made. The list goes to the deciding leader and,
// approved, with the copies to the secrecy bureau, so it is a paper like the others and is marked
// (issue 14 points 4 and 9).
type DestructionList struct {
	Batch      Batch       `json:"batch"`
	ApprovedBy string      `json:"approved_by,omitempty"`
	ApprovedAt string      `json:"approved_at,omitempty"`
	Decision   string      `json:"decision,omitempty"` // pending, approved, rejected
	Items      []LedgerRow `json:"items"`
}

// DestructionListOf returns the list of a batch in any state.
func (r *Register) DestructionListOf(ctx context.Context, a Actor, id int64) (DestructionList, error) {
	if err := need(a, readReports, custody.Custodian, custody.Leader, custody.SecAdmin, custody.Admin); err != nil {
		return DestructionList{}, err
	}
	b, err := r.Batch(ctx, a, id)
	if err != nil {
		return DestructionList{}, err
	}
	l := DestructionList{Batch: b}
	if b.Approval != 0 {
		ap, err := r.Approval(ctx, a, b.Approval)
		if err != nil {
			return l, err
		}
		l.ApprovedBy, l.ApprovedAt, l.Decision = ap.DecidedBy, ap.DecidedAt, ap.State
		if ap.State == "used" { // the approval was taken up by the 送销
			l.Decision = "approved"
		}
	}
	// Read the listed copies through the ledger, which decides what the reader may see.
	all, err := r.Ledger(ctx, a, LedgerFilter{})
	if err != nil {
		return l, err
	}
	in := map[int64]bool{}
	for _, id := range b.Items {
		in[id] = true
	}
	for _, row := range all {
		if in[row.ID] {
			l.Items = append(l.Items, row)
		}
	}
	return l, nil
}
