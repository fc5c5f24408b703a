package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/custodyhq/custody/internal/custody"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/sitetime"
)

// The 机要交通 交接单 names the courier, the envelope number, the receiving unit and the expected
// arrival in the site's zone, and has the courier sign by hand (no account here); an outside
// transfer's names the unit, its receiver and their receipt number.
func TestTransitReceiptNamesCourierEnvelopeAndUnit(t *testing.T) {
	s := closedSession()
	s.Purpose, s.Counterpart, s.CounterpartName, s.Due = register.PurposeDispatch, "", "", ""
	s.Courier, s.Envelope, s.Destination, s.Expected = "赵交通", "JY-2026-0042", "市国资委办公室", "2026-12-08T09:00:00Z"
	for i := range s.Items {
		s.Items[i].State = custody.InTransit
	}
	var buf bytes.Buffer
	if err := PDF(&buf, Receipt(s, sitetime.Zone{}), ""); err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, buf.Bytes())
	for _, want := range []string{"涉密文件机要交通交接单", "赵交通（机要交通员）", "JY-2026-0042", "市国资委办公室", "2026-12-08 17:00", "传递中", "机要交通员（签字）", "交付机要员（签字）"} {
		if !strings.Contains(text, want) {
			t.Errorf("dispatch receipt lacks %q; got:\n%s", want, text)
		}
	}

	s = closedSession()
	s.Purpose, s.Counterpart, s.CounterpartName, s.Due = register.PurposeTransfer, "", "", ""
	s.Destination, s.Receiver, s.Receipt = "市委机要局", "吴收", "机要回-7"
	buf.Reset()
	if err := PDF(&buf, Receipt(s, sitetime.Zone{}), ""); err != nil {
		t.Fatal(err)
	}
	text = pdfText(t, buf.Bytes())
	for _, want := range []string{"涉密文件交接单", "吴收（市委机要局）", "机要回-7", "接收单位签收人（签字）"} {
		if !strings.Contains(text, want) {
			t.Errorf("outside transfer receipt lacks %q; got:\n%s", want, text)
		}
	}
}
