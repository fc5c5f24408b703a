package apitype_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/alert"
	"github.com/custodyhq/custody/internal/api/apitype"
	"github.com/custodyhq/custody/internal/reconcile"
	"github.com/custodyhq/custody/internal/register"
)

// jsonShape describes the JSON a Go type encodes to: for a struct, each field's name and options
// (omitempty, omitzero) with the shape of its value, embedded structs flattened as encoding/json
// flattens them; otherwise the kind. Two types with the same shape encode the same values to the
// same bytes and decode the same bytes to the same values.
func jsonShape(t reflect.Type, seen map[reflect.Type]bool) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[[]byte]():
		return "bytes"
	case t.PkgPath() == "time" && t.Name() == "Time":
		return "time"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "[" + jsonShape(t.Elem(), seen) + "]"
	case reflect.Map:
		return "map[" + t.Key().Kind().String() + "]" + jsonShape(t.Elem(), seen)
	case reflect.Struct:
		if seen[t] {
			return "recursive " + t.Name()
		}
		seen[t] = true
		defer delete(seen, t)
		var fields []string
		var walk func(t reflect.Type)
		walk = func(t reflect.Type) {
			for i := range t.NumField() {
				f := t.Field(i)
				tag := f.Tag.Get("json")
				if tag == "-" || !f.IsExported() && !f.Anonymous {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
					walk(f.Type)
					continue
				}
				if name == "" {
					name = f.Name
				}
				fields = append(fields, name+","+opts+" "+jsonShape(f.Type, seen))
			}
		}
		walk(t)
		return "{" + strings.Join(fields, "; ") + "}"
	}
	return t.Kind().String()
}

func shapeOf[T any]() string { return jsonShape(reflect.TypeFor[T](), map[reflect.Type]bool{}) }

// The alert shapes mirror the server's (alerts.go says why they are not the same types):
// custodyctl must decode every field the server sends and, with --json, print it back unchanged.
func TestAlertShapesMatchTheServer(t *testing.T) {
	for _, c := range []struct{ name, server, client string }{
		{"Alert", shapeOf[alert.Alert](), shapeOf[apitype.Alert]()},
		{"Finding", shapeOf[alert.Finding](), shapeOf[apitype.Finding]()},
		{"AlertEvent", shapeOf[alert.Event](), shapeOf[apitype.AlertEvent]()},
	} {
		if c.server != c.client {
			t.Errorf("%s: the server encodes\n%s\nbut apitype has\n%s", c.name, c.server, c.client)
		}
	}
}

// The check would fail on a difference: a mirror missing one field of the server's is caught.
func TestShapeSeesAMissingField(t *testing.T) {
	type server struct {
		A int    `json:"a"`
		B string `json:"b,omitempty"`
	}
	type client struct {
		A int `json:"a"`
	}
	type renamed struct {
		A int    `json:"a"`
		B string `json:"bee,omitempty"`
	}
	if shapeOf[server]() == shapeOf[client]() || shapeOf[server]() == shapeOf[renamed]() {
		t.Fatal("jsonShape does not tell a missing or renamed field")
	}
}

// The words custodyctl shows for the server's codes are the server's words.
func TestVocabularyMatchesTheServer(t *testing.T) {
	for _, p := range []string{apitype.PurposeBorrow, apitype.PurposeCirculate, apitype.PurposeReadingRoom, apitype.PurposeTakeOut, apitype.PurposeReturn,
		apitype.PurposeTransfer, apitype.PurposeArchive, apitype.PurposeDestroy, apitype.PurposeStore, apitype.PurposeDispatch, apitype.PurposeReceive} {
		if got, want := apitype.PurposeText(p), register.PurposeText(p); got != want || got.ZH == "" {
			t.Errorf("purpose %q: apitype says %v, the register %v", p, got, want)
		}
	}
	if got, want := []string{register.PurposeBorrow, register.PurposeCirculate, register.PurposeReadingRoom, register.PurposeTakeOut, register.PurposeReturn,
		register.PurposeTransfer, register.PurposeArchive, register.PurposeDestroy, register.PurposeStore, register.PurposeDispatch, register.PurposeReceive},
		[]string{apitype.PurposeBorrow, apitype.PurposeCirculate, apitype.PurposeReadingRoom, apitype.PurposeTakeOut, apitype.PurposeReturn,
			apitype.PurposeTransfer, apitype.PurposeArchive, apitype.PurposeDestroy, apitype.PurposeStore, apitype.PurposeDispatch, apitype.PurposeReceive}; !reflect.DeepEqual(got, want) {
		t.Errorf("purposes: the register has %v, apitype %v", got, want)
	}
	for _, o := range []string{register.CheckFound, register.CheckScanned, register.CheckConfirmed, register.CheckLeft, register.CheckNotFound,
		register.CheckElsewhere, register.CheckUnconfirmed, register.CheckUnchecked, register.CheckLost} {
		if got, want := apitype.CheckOutcomeText(o), register.CheckOutcomeText(o); got != want || got.ZH == "" {
			t.Errorf("check outcome %q: apitype says %v, the register %v", o, got, want)
		}
	}
	for _, k := range reconcile.Kinds {
		if got, want := apitype.FindingKind(k).Text(), k.Text(); got != want || got.ZH == "" {
			t.Errorf("finding kind %q: apitype says %v, reconcile %v", k, got, want)
		}
	}
	for _, s := range []alert.State{alert.Open, alert.Acknowledged, alert.Resolved} {
		if got, want := apitype.AlertState(s).Text(), s.Text(); got != want || got.ZH == "" {
			t.Errorf("alert state %q: apitype says %v, alert %v", s, got, want)
		}
	}
	for _, s := range []alert.Severity{alert.Info, alert.Warning, alert.Major, alert.Critical} {
		if !strings.Contains(shapeOf[apitype.Alert](), "severity") || apitype.Severity(s) != map[alert.Severity]apitype.Severity{alert.Info: apitype.Info, alert.Warning: apitype.Warning, alert.Major: apitype.Major, alert.Critical: apitype.Critical}[s] {
			t.Errorf("severity %q has no twin in apitype", s)
		}
	}
}
