package custody

import "testing"

func TestSubjectSpellings(t *testing.T) {
	s := ItemSubject(42)
	if got, want := s.Audit(), "item:42"; got != want {
		t.Errorf("audit spelling: got %q, want %q", got, want)
	}
	if got, want := s.Finding(), "item/42"; got != want {
		t.Errorf("finding spelling: got %q, want %q", got, want)
	}
	for _, in := range []string{s.Audit(), s.Finding()} {
		got, ok := ParseSubject(in)
		if !ok || got != s {
			t.Errorf("ParseSubject(%q) = %+v, %v; want %+v, true", in, got, ok, s)
		}
		if id, ok := got.ItemID(); !ok || id != 42 {
			t.Errorf("ParseSubject(%q).ItemID() = %d, %v; want 42, true", in, id, ok)
		}
	}
}

func TestParseSubjectRefuses(t *testing.T) {
	for _, in := range []string{"", "item", ":12", "item:", "/", "backup"} {
		if got, ok := ParseSubject(in); ok {
			t.Errorf("ParseSubject(%q) = %+v, true; want false", in, got)
		}
	}
	// A key may hold the other separator: a cabinet code never does, an EPC never does, but a
	// grouped subject does (losscase/3#item/7): the first separator ends the kind.
	if got, ok := ParseSubject("losscase/3#item/7"); !ok || got.Kind != "losscase" || got.Key != "3#item/7" {
		t.Errorf("ParseSubject(grouped) = %+v, %v", got, ok)
	}
	for _, in := range []string{"cabinet/C1", "item/0", "item/-3", "item/x"} {
		s, _ := ParseSubject(in)
		if id, ok := s.ItemID(); ok {
			t.Errorf("ParseSubject(%q).ItemID() = %d, true; want false", in, id)
		}
	}
}
