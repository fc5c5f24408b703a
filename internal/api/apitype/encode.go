package apitype

// Encoding is what a tag encoding did: Outcome is wire.TagWritten or wire.TagAlready.
type Encoding struct {
	Item    Item   `json:"item"`
	Desk    string `json:"desk"`
	Agent   string `json:"agent"`
	Outcome string `json:"outcome"`
	EPC     string `json:"epc"`
}
