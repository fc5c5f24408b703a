package ingest

// NewCopyingStore lets the tests' agent use the same race-free paho store as ingest.
var NewCopyingStore = newCopyingStore
