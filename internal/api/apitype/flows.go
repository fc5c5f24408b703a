package apitype

import (
	"github.com/custodyhq/custody/internal/custody"
)

// ReceiveRequest registers an incoming batch of a document and stores its copies.
type ReceiveRequest struct {
	Document Document `json:"document"` // Copies is the total the issuer printed (共 N 份)
	Cabinet  string   `json:"cabinet"`
	From     string   `json:"from"` // who delivered it (机要交通、外单位), as written on the delivery slip
	// FirstCopy and LastCopy are the 份号 printed on the paper of this batch (第037–040份); zero
	// for both means the whole issue, 1..Copies.
	FirstCopy int `json:"first_copy,omitempty"`
	LastCopy  int `json:"last_copy,omitempty"`
}

// ReceiveResult is a received batch and the step that follows it at the desk: printing labels
// and encoding tags for exactly these copies.
type ReceiveResult struct {
	Document Document `json:"document"`
	Items    []Item   `json:"items"`
	// Batch says which 份号 arrived: "037–040" of the total.
	Batch string `json:"batch"`
	// Next is the label and tag step for exactly these copies (issue 14 point 1).
	Next ReceiveNext `json:"next"`
}

// ReceiveNext names the label and tag step for a received batch.
type ReceiveNext struct {
	Items  []int64 `json:"items"`
	Labels string  `json:"labels"` // custodyctl command that prints their labels
	Encode string  `json:"encode"` // API path pattern that writes a tag at the desk's station
}

// ReproduceRequest makes approved copies of an item.
type ReproduceRequest struct {
	Approval int64  `json:"approval"`
	Cabinet  string `json:"cabinet"`        // where the copies go when scanned in at the desk
	Unit     string `json:"unit"`           // 复制单位: who made the copies
	Date     string `json:"date,omitempty"` // YYYY-MM-DD the copies were made; default today
}

// Event is one step in an item's chain of custody.
type Event struct {
	At          string        `json:"at"`
	Action      string        `json:"action"`
	From        custody.State `json:"from,omitempty"`
	To          custody.State `json:"to"`
	Actor       string        `json:"actor,omitempty"`
	Counterpart string        `json:"counterpart,omitempty"`
	Session     int64         `json:"session,omitempty"`
	Note        string        `json:"note,omitempty"`
}
