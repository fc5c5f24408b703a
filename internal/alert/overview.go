package alert

import (
	"context"
	"fmt"

	"github.com/custodyhq/custody/internal/reconcile"
)

// The console's overview and live stream read the findings and alerts through these, in a fixed
// number of grouped queries however many cabinets there are (the Book owns both tables).

// CabinetFindings is, per cabinet, the kinds of its open findings and how many are open.
func (b *Book) CabinetFindings(ctx context.Context) (kinds map[string][]reconcile.Kind, counts map[string]int, err error) {
	rows, err := b.st.DB().QueryContext(ctx, `SELECT cabinet, kind, count(*) FROM findings WHERE cleared_at IS NULL GROUP BY cabinet, kind`)
	if err != nil {
		return nil, nil, fmt.Errorf("open findings per cabinet: %w", err)
	}
	defer rows.Close()
	kinds, counts = map[string][]reconcile.Kind{}, map[string]int{}
	for rows.Next() {
		var code string
		var k reconcile.Kind
		var n int
		if err := rows.Scan(&code, &k, &n); err != nil {
			return nil, nil, fmt.Errorf("open findings per cabinet: %w", err)
		}
		kinds[code] = append(kinds[code], k)
		counts[code] += n
	}
	return kinds, counts, rows.Err()
}

// OfflineAgents are the agents with an open agent_offline finding.
func (b *Book) OfflineAgents(ctx context.Context) (map[string]bool, error) {
	rows, err := b.st.DB().QueryContext(ctx, `SELECT agent FROM findings WHERE cleared_at IS NULL AND kind = 'agent_offline'`)
	if err != nil {
		return nil, fmt.Errorf("offline agents: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var agent string
		if err := rows.Scan(&agent); err != nil {
			return nil, fmt.Errorf("offline agents: %w", err)
		}
		out[agent] = true
	}
	return out, rows.Err()
}

// AlertsVersion changes whenever an alert is opened or changes.
func (b *Book) AlertsVersion(ctx context.Context) (string, error) {
	return b.version(ctx, `SELECT count(*) || '/' || coalesce(sum(version), 0) FROM alerts`)
}

// UnresolvedVersion changes whenever an unresolved alert is raised, changes or is resolved.
func (b *Book) UnresolvedVersion(ctx context.Context) (string, error) {
	return b.version(ctx, `SELECT count(*) || '/' || coalesce(sum(version), 0) FROM alerts WHERE state <> 'resolved'`)
}

// FindingsVersion changes whenever a finding is opened or changes (cleared included), and so does
// AlertsVersion with any alert, in one string: what the cabinet overview shows besides the reports.
func (b *Book) FindingsVersion(ctx context.Context) (string, error) {
	return b.version(ctx, `SELECT (SELECT count(*) || '.' || coalesce(max(updated_at), '') FROM findings) || '/' || (SELECT count(*) || '.' || coalesce(sum(version), 0) FROM alerts)`)
}

func (b *Book) version(ctx context.Context, q string, args ...any) (string, error) {
	var v string
	err := b.st.DB().QueryRowContext(ctx, q, args...).Scan(&v)
	return v, err
}
