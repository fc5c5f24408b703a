package apitype

// LedgerRow is one line of the register.
type LedgerRow struct {
	Item
	Title       string `json:"title,omitempty"`
	IssuingUnit string `json:"issuing_unit"`
	Unit        string `json:"unit"` // the unit that keeps it: its cabinet's unit, else the issuing unit
	IssuedOn    string `json:"issued_on"`
	SecrecyTerm string `json:"secrecy_term"`
	HolderName  string `json:"holder_name,omitempty"`
}
