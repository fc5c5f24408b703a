package capture

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

const usageText = `usage: custody-agent decode --protocol r2000|m6e|llrp|cabinet|scanner [--hex] [--direction reader|host] < capture

Decodes a captured byte stream read on stdin and prints one JSON object per line for each frame:

  {"kind":"tag","offset":19,"epc":"E200…","antenna":1,"rssi_dbm":-61,…}       a tag read (r2000, m6e;
                                                                                 llrp: one per TagReportData)
  {"kind":"event","offset":0,"command":"READER_EVENT_NOTIFICATION",…}          an LLRP reader event
  {"kind":"scan","offset":0,"symbology":"]C1","data":"…","gs1":{"253":"…"}}   a barcode (scanner)
  {"kind":"poll_reply","offset":0,"addr":3,…}                                    other frames, by kind
  {"kind":"error","offset":7,"skipped":21,"cause":"checksum","error":"…"}        a damaged frame

Each frame whose checksum fails is its own error at its own offset; bytes that form no frame
are one error for the whole run. Offsets count raw bytes from the start of the stream (with
--hex: the bytes the hex spells). Decoding resumes at the next frame after a bad one.

Flags:
  --protocol NAME     r2000, m6e, llrp, cabinet or scanner (required)
  --hex               stdin is hex text (two digits a byte, whitespace ignored), e.g. a copy of a
                      logic analyser's export; anything else in it is an error naming its line and column
  --direction DIR     r2000 and m6e only (llrp frames both directions alike): reader (replies and tag reports, the default) or host
                      (commands the host sent); the two directions are framed differently

Exit status: 0 when the whole stream was read, even if it held bad frames (they are printed);
1 when stdin could not be read or the hex text is not hex; 2 for a usage error.

Examples:
  custody-agent decode --protocol r2000 < cab-07.bin
  echo 'A0 13 01 89 04 30 00 E2 00 30 16 66 13 01 21 15 50 74 EF 45 BF' | custody-agent decode --protocol r2000 --hex
`

// Main runs `custody-agent decode` with args (after the subcommand name) and returns the exit
// status: 0 when the stream was read, 1 for an I/O or hex error, 2 for usage.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("decode", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	protocol := fs.String("protocol", "", "")
	hexIn := fs.Bool("hex", false, "")
	direction := fs.String("direction", string(FromDevice), "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usageText)
			return 0
		}
		fmt.Fprintf(stderr, "custody-agent decode: %v\n\n%s", err, usageText)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "custody-agent decode: unexpected argument %q (the capture is read on stdin)\n\n%s", fs.Arg(0), usageText)
		return 2
	}
	if _, ok := decoders[*protocol]; !ok {
		if *protocol == "" {
			fmt.Fprintf(stderr, "custody-agent decode: --protocol is required (%s)\n\n%s", strings.Join(Protocols(), ", "), usageText)
		} else {
			fmt.Fprintf(stderr, "custody-agent decode: unknown protocol %q (want %s)\n\n%s", *protocol, strings.Join(Protocols(), ", "), usageText)
		}
		return 2
	}
	d := Direction(*direction)
	if d != FromDevice && d != FromHost {
		fmt.Fprintf(stderr, "custody-agent decode: unknown --direction %q (want reader or host)\n\n%s", *direction, usageText)
		return 2
	}
	if _, err := Decode(stdout, stdin, Options{Protocol: *protocol, Hex: *hexIn, Direction: d}); err != nil {
		var he *HexError
		if errors.As(err, &he) {
			err = he // the position is the whole story; the wrapping adds nothing for the reader
		}
		fmt.Fprintf(stderr, "custody-agent decode: %v\n", err)
		return 1
	}
	return 0
}
