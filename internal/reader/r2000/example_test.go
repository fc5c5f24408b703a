package r2000_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/custodyhq/custody/internal/reader"
	"github.com/custodyhq/custody/internal/reader/r2000"
)

// The loop custody-agent decode runs: one JSON object per frame, bad stretches as errors with
// their offset, and decoding goes on after them.
func ExampleDecoder() {
	capture := []byte{
		0xA0, 0x13, 0x01, 0x89, 0x04, 0x30, 0x00, 0xE2, 0x00, 0x30, 0x16, 0x66, 0x13, 0x01, 0x21, 0x15, 0x50, 0x74, 0xEF, 0x45, 0xBF,
		0x13, 0x37, // line noise
		0xA0, 0x0A, 0x01, 0x89, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00, 0x05, 0xB6,
	}
	dec := r2000.NewDecoder(bytes.NewReader(capture))
	for {
		f, err := dec.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var rec reader.Record
		if err != nil {
			rec = reader.ErrorRecord(err)
		} else {
			rec = f.Record()
			rec.Raw = "" // shortened for the example
		}
		b, _ := json.Marshal(rec)
		fmt.Println(string(b))
	}
	// Output:
	// {"kind":"tag","offset":0,"command":"0x89","epc":"E200301666130121155074EF","pc":"3000","antenna":1,"rssi_dbm":-61,"frequency_khz":865500,"read_count":1}
	// {"kind":"error","offset":21,"error":"offset 21: 2 bytes skipped: bytes outside any frame"}
	// {"kind":"summary","offset":23,"command":"0x89","antenna":1,"detail":{"read_rate":17,"total_reads":5}}
}
