package epcis

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/epc"
	"github.com/custodyhq/custody/internal/epcis/epcistest"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/sitetime"
)

func gdti(t *testing.T, id uint64) string {
	t.Helper()
	e, err := epc.Issuer{CompanyPrefix: "0614141", DocumentType: "00001"}.ForItem(id)
	if err != nil {
		t.Fatal(err)
	}
	return e.PureIdentityURI()
}

// every record kind this version knows: the registration, each custody action, each finding.
func allRecords(t *testing.T) []register.CustodyRecord {
	at := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	var recs []register.CustodyRecord
	recs = append(recs, register.CustodyRecord{Kind: register.RecordRegistered, Key: "registered:1", Item: 1, EPC: gdti(t, 1), At: at, Cabinet: "C-01", Room: "R301"})
	for i, a := range custody.Actions {
		if a == custody.Handover { // always refused: never a step in the register
			continue
		}
		recs = append(recs, register.CustodyRecord{Kind: register.RecordStep, Key: "step:" + string(rune('a'+i)), Item: 1, EPC: gdti(t, 1),
			At: at.Add(time.Duration(i+1) * time.Minute), Action: string(a), Cabinet: "C-01", Room: "R301"})
	}
	for o := range findingMap {
		recs = append(recs, register.CustodyRecord{Kind: register.RecordFinding, Key: "finding:1:" + o, Item: 2, EPC: gdti(t, 2), At: at.Add(time.Hour), Outcome: o, Cabinet: "C-02"})
	}
	return recs
}

func TestEveryRecordKindValidatesAgainstGS1Schema(t *testing.T) {
	recs := allRecords(t)
	for _, o := range []Options{
		{CompanyPrefix: "0614141", BaseURI: "https://custody.example.gov.cn/"},
		{CompanyPrefix: "0614141", GLN: "0614141000012"},
	} {
		b, err := Marshal(recs, o)
		if err != nil {
			t.Fatal(err)
		}
		epcistest.Validate(t, b)
		var d Document
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		if len(d.Body.EventList) != len(recs) {
			t.Fatalf("got %d events, want one per record (%d)", len(d.Body.EventList), len(recs))
		}
		for _, e := range d.Body.EventList {
			if e.EventTimeZoneOffset != "+08:00" || !strings.HasSuffix(e.EventTime, "+08:00") || !strings.HasPrefix(e.EventTime, "2026-12-01T1") {
				t.Errorf("event time %s %s: want the site zone, +08:00", e.EventTime, e.EventTimeZoneOffset)
			}
			if len(e.EPCList) != 1 || !strings.HasPrefix(e.EPCList[0], "urn:epc:id:gdti:0614141.00001.") {
				t.Errorf("epcList %v: want the copy's GDTI pure identity", e.EPCList)
			}
			wantPrefix := "https://custody.example.gov.cn/epcis/cabinet/C-0"
			if o.GLN != "" {
				wantPrefix = "urn:epc:id:sgln:0614141.00001.cabinet-C-0"
			}
			if e.ReadPoint == nil || !strings.HasPrefix(e.ReadPoint.ID, wantPrefix) {
				t.Errorf("readPoint %+v: want %s…", e.ReadPoint, wantPrefix)
			}
		}
	}
	// A hostile record: the schema must catch what the builder got wrong, so prove it can fail.
	bad := []byte(`{"@context":["` + GS1Context + `"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-12-01T10:00:00+08:00",
		"epcisBody":{"eventList":[{"type":"ObjectEvent","eventTime":"2026-12-01T10:00:00+08:00","eventTimeZoneOffset":"+8","action":"OBSERVE","epcList":["x y"],"bizStep":"urn:epcglobal:cbv:bizstep:lending"}]}}`)
	if err := epcistest.Check(bad); err == nil {
		t.Fatal("schema accepted an offset of +8, an EPC 'x y' and a made-up CBV bizStep: the validator is not validating")
	}
}

func TestMappingOfEachStep(t *testing.T) {
	want := map[string][3]string{
		"registered":        {"ADD", "commissioning", "active"},
		"store":             {"OBSERVE", "storing", "available"},
		"check_out":         {"OBSERVE", "departing", "in_progress"},
		"return":            {"OBSERVE", "arriving", "available"},
		"take_out":          {"OBSERVE", "departing", "in_progress"},
		"dispatch":          {"OBSERVE", "departing", "in_transit"},
		"receive":           {"OBSERVE", "receiving", "available"},
		"destroy":           {"OBSERVE", "destroying", "in_transit"},
		"certify_destroyed": {"DELETE", "destroying", "destroyed"},
		"report_lost":       {"OBSERVE", "inspecting", "unknown"},
		"finding:found":     {"OBSERVE", "inspecting", "conformant"},
		"finding:not_found": {"OBSERVE", "inspecting", "non_conformant"},
	}
	for _, r := range allRecords(t) {
		k := r.Action
		switch r.Kind {
		case register.RecordRegistered:
			k = "registered"
		case register.RecordFinding:
			k = "finding:" + r.Outcome
		}
		a, s, d, ok := Map(r)
		if !ok {
			t.Errorf("%s: no mapping", k)
			continue
		}
		if w, ok := want[k]; ok && [3]string{a, s, d} != w {
			t.Errorf("%s: got %s %s %s, want %v", k, a, s, d, w)
		}
	}
	if _, err := Build([]register.CustodyRecord{{Kind: register.RecordStep, Key: "step:9", Action: "teleport", EPC: gdti(t, 1)}}, Options{}); err == nil {
		t.Error("a step of an unknown action was exported: want an error, not a silent gap")
	}
	if _, err := Build([]register.CustodyRecord{{Kind: register.RecordStep, Key: "step:9", Action: "store"}}, Options{}); err == nil || !strings.Contains(err.Error(), "company_prefix") {
		t.Errorf("a copy without an EPC: got %v, want an error naming [identity] company_prefix", err)
	}
}

func TestEventIDIsStableAndPerInstallation(t *testing.T) {
	a, b := EventID("0614141|x", "step:7"), EventID("0614141|x", "step:7")
	if a != b || !strings.HasPrefix(a, "urn:uuid:") || len(a) != len("urn:uuid:")+36 || a[len("urn:uuid:")+14] != '5' {
		t.Fatalf("got %s and %s, want the same version-5 urn:uuid", a, b)
	}
	if EventID("0614141|x", "step:8") == a || EventID("0614142|x", "step:7") == a {
		t.Error("two facts or two offices share an event id")
	}
}

func TestLevelOnlyWhenAskedAndNamespaced(t *testing.T) {
	recs := allRecords(t)
	b, _ := Marshal(recs, Options{CompanyPrefix: "0614141", Zone: sitetime.Default()})
	if strings.Contains(string(b), "level") || strings.Contains(string(b), CustodyNS) {
		t.Fatalf("a document without levels mentions them:\n%s", b)
	}
	recs[0].Level = custody.Secret
	b, _ = Marshal(recs, Options{CompanyPrefix: "0614141"})
	epcistest.Validate(t, b)
	if !strings.Contains(string(b), `"custody:level": "secret"`) || !strings.Contains(string(b), CustodyNS) {
		t.Fatalf("level asked for: want custody:level with its namespace in @context:\n%s", b)
	}
}

func TestSGLNAndGLN(t *testing.T) {
	if !ValidGLN("0614141000012") || ValidGLN("0614141000013") || ValidGLN("06141410000a2") {
		t.Error("GLN check digit")
	}
	if s, ok := SGLN("0614141000012", "0614141", "cabinet-C.01"); !ok || s != "urn:epc:id:sgln:0614141.00001.cabinet-C%2E01" {
		t.Errorf("got %s %v", s, ok)
	}
	if _, ok := SGLN("0614141000012", "0999999", "x"); ok {
		t.Error("a GLN outside the company prefix made an SGLN")
	}
}
