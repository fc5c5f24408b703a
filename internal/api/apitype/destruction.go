package apitype

// Batch is a destruction list.
type Batch struct {
	ID        int64   `json:"id"`
	Unit      string  `json:"unit,omitempty"`
	State     string  `json:"state"` // listed, approved, rejected, sent (送销, with the bureau), destroyed
	Reason    string  `json:"reason"`
	CreatedBy string  `json:"created_by"`
	Approval  int64   `json:"approval"`
	Session   int64   `json:"session,omitempty"`
	Created   string  `json:"created_at"`
	Destroyed string  `json:"destroyed_at,omitempty"`
	Items     []int64 `json:"items"`
	// 送销 and the bureau's certificate (issue 14 point 4).
	Sent          string `json:"sent_at,omitempty"`
	Courier       string `json:"courier,omitempty"`
	BureauReceipt string `json:"bureau_receipt,omitempty"`
	Supervisor    string `json:"supervisor,omitempty"`
	CertificateNo string `json:"certificate_no,omitempty"`
	CertifiedBy   string `json:"certified_by,omitempty"`
}

// BatchRequest lists items for destruction.
type BatchRequest struct {
	Items   []int64 `json:"items"`
	Reason  string  `json:"reason"`
	Unit    string  `json:"unit,omitempty"` // refused when given: the approval policy decides who approves
	Expires string  `json:"expires_at,omitempty"`
}
