// Package sitetime is the site's one time zone ([site] time_zone, Asia/Shanghai by default): the
// zone in which every time a person types is read and every time a person reads is shown,
// whatever the host's TZ says.
//
// Contract: the zero Zone is Asia/Shanghai, never the host's local zone — a server installed
// with TZ=UTC must still read "18:00" as 18:00 Beijing time. The zone database is embedded
// (time/tzdata), so a minimal container without /usr/share/zoneinfo works too. Times are stored
// and compared as instants (UTC); only parsing and display go through a Zone.
package sitetime

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Shanghai on hosts without zoneinfo
)

// DefaultName is the zone of a site that names none.
const DefaultName = "Asia/Shanghai"

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation(DefaultName)
	if err != nil {
		panic("embedded tzdata lacks " + DefaultName + ": " + err.Error())
	}
	return loc
}()

// Zone is a site's time zone. Pass it by value; the zero Zone is Asia/Shanghai.
type Zone struct{ loc *time.Location }

// Default is Asia/Shanghai.
func Default() Zone { return Zone{shanghai} }

// Load finds a zone by its IANA name ("Asia/Shanghai"); "" is the default. "Local" is refused:
// the point of the site zone is not to depend on the host's.
func Load(name string) (Zone, error) {
	switch name {
	case "":
		return Default(), nil
	case "Local":
		return Zone{}, fmt.Errorf("%q is the host's zone; name the site's zone, e.g. %q", name, DefaultName)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return Zone{}, fmt.Errorf("%q is not a known time zone (an IANA name such as %q)", name, DefaultName)
	}
	return Zone{loc}, nil
}

// Location is the zone as a *time.Location.
func (z Zone) Location() *time.Location {
	if z.loc == nil {
		return shanghai
	}
	return z.loc
}

// Name is the IANA name, e.g. "Asia/Shanghai".
func (z Zone) Name() string { return z.Location().String() }

// In is t in the site's zone.
func (z Zone) In(t time.Time) time.Time { return t.In(z.Location()) }

// Parse reads a wall-clock time typed by a person in the site's zone. Layouts with an offset
// (RFC 3339) keep the offset written.
func (z Zone) Parse(layout, s string) (time.Time, error) {
	return time.ParseInLocation(layout, s, z.Location())
}

// Format shows t in the site's zone; the zero time is "".
func (z Zone) Format(t time.Time, layout string) string {
	if t.IsZero() {
		return ""
	}
	return t.In(z.Location()).Format(layout)
}

// FormatStored shows a stored RFC 3339 time in the site's zone; text that is not a time is
// returned as it is.
func (z Zone) FormatStored(s, layout string) string {
	if s == "" {
		return ""
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return z.Format(t, layout)
}

// Label names the zone for people, where a time could be misread: 北京时间 / Beijing time for
// Asia/Shanghai (and its aliases), otherwise the IANA name with its offset.
func (z Zone) Label(lang string) string { return z.LabelAt(lang, time.Now()) }

// LabelAt is Label with the offset in force at t, for a text about that moment (a deadline
// named in a finding) that must read the same whenever it is rebuilt.
func (z Zone) LabelAt(lang string, t time.Time) string {
	switch z.Name() {
	case "Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "PRC":
		if strings.HasPrefix(lang, "en") {
			return "Beijing time"
		}
		return "北京时间"
	}
	_, off := t.In(z.Location()).Zone()
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return fmt.Sprintf("%s (UTC%s%02d:%02d)", z.Name(), sign, off/3600, off%3600/60)
}

// Of is the zone of loc (nil: the default).
func Of(loc *time.Location) Zone { return Zone{loc} }
