package custody

import (
	"strconv"
	"strings"
)

// Subject is what a record is about — an item, a cabinet, a person — as a kind and a key (an id
// or a code). It is named here once for the audit chain, the findings and the alerts alike.
//
// Two spellings are stored, and both stay (docs/architecture.md, "Subjects"): an audit record
// names its subject "item:12" and cannot be renamed, because its hash and every later record's
// cover it; findings and alerts name it "item/12", and an open alert is keyed by (kind, subject)
// and shown so by the API and in each alert's history. Audit and Finding give the spellings;
// ParseSubject reads either.
type Subject struct {
	Kind string // "item", "cabinet", "person", …
	Key  string
}

// ItemSubject is the subject naming an item (a numbered copy or a reproduction) by its id.
func ItemSubject(id int64) Subject { return Subject{Kind: "item", Key: strconv.FormatInt(id, 10)} }

// Audit is the subject as an audit record names it: "item:12".
func (s Subject) Audit() string { return s.Kind + ":" + s.Key }

// Finding is the subject as a finding or an alert names it: "item/12".
func (s Subject) Finding() string { return s.Kind + "/" + s.Key }

// ParseSubject reads a subject in either spelling; the first ':' or '/' ends the kind. ok is
// false for a string with neither, or with an empty kind or key.
func ParseSubject(s string) (sub Subject, ok bool) {
	i := strings.IndexAny(s, ":/")
	if i <= 0 || i == len(s)-1 {
		return Subject{}, false
	}
	return Subject{Kind: s[:i], Key: s[i+1:]}, true
}

// ItemID is the id of the item the subject names; ok is false for any other subject.
func (s Subject) ItemID() (id int64, ok bool) {
	if s.Kind != "item" {
		return 0, false
	}
	id, err := strconv.ParseInt(s.Key, 10, 64)
	return id, err == nil && id > 0
}
