package register

import (
	"errors"
	"testing"
	"time"
)

// The span of an EPCIS export is typed by people: read in the site zone whatever the host's, and
// anything else refused in words, never a panic and never a silently wrong time.
func TestCustodySpanInTheSiteZone(t *testing.T) {
	r := &Register{}
	for in, want := range map[string]string{
		"2026-12-01":                "2026-11-30T16:00:00Z",
		"2026-12-01 08:00":          "2026-12-01T00:00:00Z",
		"2026-12-01T08:00":          "2026-12-01T00:00:00Z",
		"2026-12-01T08:00:00+08:00": "2026-12-01T00:00:00Z",
		"2026-12-01T00:00:00Z":      "2026-12-01T00:00:00Z",
	} {
		got, err := r.parseSpan(in)
		if err != nil || got.UTC().Format(time.RFC3339) != want {
			t.Errorf("%q: got %v %v, want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"yesterday", "2026-13-01", "12/01/2026"} {
		var re *Error
		if _, err := r.parseSpan(in); !errors.As(err, &re) || re.Text.ZH == "" {
			t.Errorf("%q: got %v, want a refusal in words", in, err)
		}
	}
}

func FuzzCustodySpan(f *testing.F) {
	for _, s := range []string{"", "2026-12-01", "2026-12-01 08:00", "2026-12-01T08:00:00+08:00", "昨天", "2026-02-30"} {
		f.Add(s)
	}
	r := &Register{}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := r.parseSpan(s)
		var re *Error
		if err != nil && (!errors.As(err, &re) || re.Text.ZH == "" || re.Code != CodeInvalid) {
			t.Fatalf("%q: error %v is not a refusal in words", s, err)
		}
		if err == nil && got.Location() != r.zone.Location() && !got.IsZero() && got.Location() != time.UTC {
			// RFC 3339 keeps the offset typed; the other forms are read in the site zone.
			if _, off := got.Zone(); off != 0 && len(s) < len("2006-01-02T15:04:05Z") {
				t.Fatalf("%q: read in %v, not the site zone", s, got.Location())
			}
		}
	})
}
