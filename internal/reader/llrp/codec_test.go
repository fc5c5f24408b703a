package llrp_test

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/reader/llrp"
	"github.com/custodyhq/custody/internal/reader/readertest"
)

func TestVectors(t *testing.T) {
	readertest.Run(t, "../../../firmware-protocol/llrp/vectors.json", func(r io.Reader, _ string) readertest.NextFunc {
		return llrp.RecordStream(r)
	})
}

// TestAddSpecRoundTrip checks that what the driver writes for a round is what a reader reads back
// (the simulator uses ParseAddSpec): both stop triggers, the session, the target and the power.
func TestAddSpecRoundTrip(t *testing.T) {
	for _, want := range []llrp.ROSpec{
		{ID: 7, Antennas: []int{1, 2, 4}, Quiet: 300 * time.Millisecond, Timeout: 3 * time.Second, Session: 1, TargetB: true, StateAware: true},
		{ID: 9, Antennas: []int{1}, Quiet: 300 * time.Millisecond, Timeout: 3 * time.Second, Session: 3},
		{ID: 8, Antennas: []int{3}, Duration: 1500 * time.Millisecond, Session: 2, PowerIndex: 18},
	} {
		var w llrp.Builder
		llrp.AddSpec(&w, 20, want)
		m, err := llrp.NewDecoder(bytes.NewReader(w.Bytes())).Next()
		if err != nil || m.Type != llrp.AddROSpec || m.ID != 20 || int(m.Length) != len(w.Bytes()) {
			t.Fatalf("decode: %+v, %v", m.Header, err)
		}
		got, err := llrp.ParseAddSpec(m.Body)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, %v; want %+v", got, err, want)
		}
	}
}

func TestStatusErrorDetails(t *testing.T) {
	var w llrp.Builder
	w.Message(llrp.Version101, llrp.SetReaderConfigResponse, 4)
	w.Begin(llrp.ParamLLRPStatus).U16(uint16(llrp.StatusPFieldError)).UTF8("keepalive period")
	w.Begin(llrp.ParamParameterError).U16(uint16(llrp.ParamKeepaliveSpec)).U16(uint16(llrp.StatusPFieldError))
	w.Begin(llrp.ParamFieldError).U16(1).U16(uint16(llrp.StatusAOutOfRange)).End()
	w.End().End().EndMessage()
	m, err := llrp.NewDecoder(bytes.NewReader(w.Bytes())).Next()
	if err != nil {
		t.Fatal(err)
	}
	err = llrp.ParseStatus(m.Type, m.Body)
	var se *llrp.StatusError
	if !errors.As(err, &se) || se.Code != llrp.StatusPFieldError || se.Parameter != llrp.ParamKeepaliveSpec || se.Field != 1 {
		t.Fatalf("got %#v, want P_FieldError on field 1 of KeepaliveSpec", err)
	}
	if !errors.Is(err, &llrp.StatusError{Code: llrp.StatusPFieldError}) {
		t.Fatal("errors.Is does not match the code")
	}
	want := "SET_READER_CONFIG_RESPONSE: the reader rejected a field value (antenna, session or power out of its range?) (P_FieldError), parameter 220, field 1: keepalive period"
	if se.Error() != want {
		t.Fatalf("got %q, want %q", se.Error(), want)
	}
	for _, code := range []llrp.StatusCode{100, 101, 109, 110, 200, 201, 209, 300, 301, 401} {
		if strings.HasPrefix(code.English(), "unknown") || strings.HasPrefix(code.Chinese(), "未知") {
			t.Errorf("status %d has no operator text", code)
		}
	}
	if llrp.StatusCode(999).English() != "unknown LLRP status 999" {
		t.Errorf("an unknown code must show its number: %q", llrp.StatusCode(999).English())
	}
}
