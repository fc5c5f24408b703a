package epc

import "fmt"

// Issuer makes the EPCs of one installation's items: GDTI-96 with the installation's company
// prefix, one document type for all items, and the item's numeric register id as serial. See the
// package documentation for why the serial is opaque.
type Issuer struct {
	CompanyPrefix string // GS1 company prefix, 6–12 digits
	DocumentType  string // 12 − len(CompanyPrefix) digits
	Filter        Filter // usually FilterAllOthers
}

// Validate checks the issuer's configuration without issuing anything.
func (is Issuer) Validate() error {
	if _, err := build(GDTI96, is.Filter, is.CompanyPrefix, is.DocumentType, 0); err != nil {
		return fmt.Errorf("epc: issuer: %w", err)
	}
	return nil
}

// ForItem returns the EPC for the item with register id id.
func (is Issuer) ForItem(id uint64) (EPC, error) {
	e, err := build(GDTI96, is.Filter, is.CompanyPrefix, is.DocumentType, id)
	if err != nil {
		return EPC{}, fmt.Errorf("epc: item %d: %w", id, err)
	}
	return e, nil
}

// ItemID returns the register id carried by e, and false when e was not issued by is (another
// scheme, company prefix or document type). The filter is ignored: it describes the tag, not
// the item.
func (is Issuer) ItemID(e EPC) (uint64, bool) {
	if !IsOurs(e, is.CompanyPrefix) || e.ref != is.DocumentType {
		return 0, false
	}
	return e.serial, true
}
