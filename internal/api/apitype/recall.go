package apitype

// Recall is a campaign to bring items back by a deadline.
type Recall struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Deadline  string `json:"deadline"`
	State     string `json:"state"` // open, closed
	CreatedBy string `json:"created_by"`
	Created   string `json:"created_at"`
	Total     int    `json:"total"`
	Returned  int    `json:"returned"`
	// Lost counts copies reported lost during the campaign: they are neither returned nor
	// outstanding, and the campaign closes over them only with the deciding leader's note.
	Lost      int          `json:"lost"`
	ClosedBy  string       `json:"closed_by,omitempty"`
	CloseNote string       `json:"close_note,omitempty"`
	Overdue   bool         `json:"overdue"` // past the deadline with items still out
	Items     []RecallItem `json:"items,omitempty"`
}

// RecallItem is one item's progress in a campaign.
type RecallItem struct {
	Item
	HeldBy   string `json:"held_by,omitempty"` // who held it when the campaign started
	Returned bool   `json:"returned"`
	Lost     bool   `json:"lost,omitempty"` // reported lost: counted apart, never as returned
	At       string `json:"returned_at,omitempty"`
}

// RecallRequest starts a campaign over the copies of some documents.
type RecallRequest struct {
	Name      string   `json:"name"`
	Deadline  string   `json:"deadline"`
	Documents []string `json:"documents"`
}

// Clearance is everything a person must hand back before a change of post (离岗清退).
type Clearance struct {
	Person    string     `json:"person"`
	Name      string     `json:"name"`
	Unit      string     `json:"unit,omitempty"`
	Active    bool       `json:"active"`
	Holdings  []Item     `json:"holdings"`
	Approvals []Approval `json:"open_approvals"`
	Clear     bool       `json:"clear"`
}
