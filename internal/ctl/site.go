package ctl

import (
	"context"
	"time"

	"github.com/custodyhq/custody/internal/sitetime"
)

// zone is the site's time zone as custodyd reports it (GET /api/v1/site), asked once per run:
// times are shown as the office reads them, not in the zone of the machine custodyctl runs on.
// A custodyd that cannot say (older, or unreachable by now) leaves the default, Asia/Shanghai.
func (c *CLI) zone() sitetime.Zone {
	if c.siteZone != nil {
		return *c.siteZone
	}
	z := sitetime.Default()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var site struct {
		TimeZone string `json:"time_zone"`
	}
	if err := c.call(ctx, "GET", "/api/v1/site", nil, &site); err == nil {
		if sz, err := sitetime.Load(site.TimeZone); err == nil {
			z = sz
		}
	}
	c.siteZone = &z
	return z
}

// when shows a time (a time.Time, or a stored RFC 3339 string) in the site's zone to the
// minute; a zero time is "-", an empty string stays empty.
func (c *CLI) when(v any) string {
	switch t := v.(type) {
	case time.Time:
		if t.IsZero() {
			return "-"
		}
		return c.zone().Format(t, "2006-01-02 15:04")
	case string:
		if t == "" {
			return ""
		}
		return c.zone().FormatStored(t, "2006-01-02 15:04")
	}
	return ""
}
