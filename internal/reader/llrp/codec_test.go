package llrp_test

import (
	"io"
	"testing"

	"github.com/custodyhq/custody/internal/reader/llrp"
	"github.com/custodyhq/custody/internal/reader/readertest"
)

func TestVectors(t *testing.T) {
	readertest.Run(t, "../../../firmware-protocol/llrp/vectors.json", func(r io.Reader, _ string) readertest.NextFunc {
		return llrp.RecordStream(r)
	})
}
