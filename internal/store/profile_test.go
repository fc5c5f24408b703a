package store_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/audit"
	"github.com/custodyhq/custody/internal/cryptoprofile"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/store/storetest"
)

// exportChain is the stored chain as `custodyctl audit export` writes it.
func exportChain(t *testing.T, s *store.Store) []byte {
	t.Helper()
	var recs []audit.Record
	if err := s.AuditRecords(context.Background(), 1, func(r audit.Record) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := audit.WriteJSONL(&buf, recs); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// An installation that moves to the 国密 profile keeps its chain: custodyd's first start under sm
// appends the marked switch record, later records are SM3, and the whole chain verifies — in
// the store and offline from an export — with each half named; a restart under sm appends no
// second switch, and the way back to standard is marked too.
func TestChainSwitchesProfileAtAMarkedRecord(t *testing.T) {
	ctx := context.Background()
	path := storetest.Target(t)
	s := open(t, path)
	if sw, err := s.UseProfile(ctx, cryptoprofile.Standard); err != nil || sw {
		t.Fatalf("standard on an empty chain: got switched %v, %v; want no switch", sw, err)
	}
	addUnit(t, s, "A")
	addUnit(t, s, "B")
	if sw, err := s.UseProfile(ctx, cryptoprofile.SM); err != nil || !sw {
		t.Fatalf("sm after standard: got switched %v, %v; want a switch", sw, err)
	}
	addUnit(t, s, "C")
	s.Close()

	s = open(t, path)
	if sw, err := s.UseProfile(ctx, cryptoprofile.SM); err != nil || sw {
		t.Fatalf("sm again after a restart: got switched %v, %v; want none", sw, err)
	}
	addUnit(t, s, "D")
	res, err := s.VerifyAudit(ctx)
	if err != nil || res.Records != 5 {
		t.Fatalf("store verify: got %+v, %v; want 5 records", res, err)
	}
	export := exportChain(t, s)
	lines := strings.Split(strings.TrimSpace(string(export)), "\n")
	if !strings.Contains(lines[0], `"alg":"sha256"`) || !strings.Contains(lines[2], `"action":"audit.profile"`) ||
		!strings.Contains(lines[2], `"alg":"sm3"`) || !strings.Contains(lines[4], `"alg":"sm3"`) {
		t.Fatalf("export:\n%s\nwant records 1–2 sha256, 3 the marked switch, 4–5 sm3", export)
	}
	_, head := s.AuditHead()
	vr, err := audit.Verify(bytes.NewReader(export), audit.VerifyOptions{Head: head})
	if err != nil || len(vr.Segments) != 2 || vr.Segments[0] != (audit.Segment{Alg: audit.SHA256, From: 1, To: 2}) || vr.Segments[1] != (audit.Segment{Alg: audit.SM3, From: 3, To: 5}) {
		t.Fatalf("offline verify: got %+v, %v; want sha256 1–2 and sm3 3–5", vr, err)
	}

	if sw, err := s.UseProfile(ctx, cryptoprofile.Standard); err != nil || !sw {
		t.Fatalf("back to standard: got switched %v, %v; want a switch", sw, err)
	}
	addUnit(t, s, "E")
	if res, err := s.VerifyAudit(ctx); err != nil || res.Records != 7 {
		t.Fatalf("after switching back: got %+v, %v", res, err)
	}
}
