// Package labels turns items into printed labels: it loads label stocks and templates (TOML data
// files kept in the repository's labels/ directory), lays out one label per numbered copy, and
// renders the layout as PDF (A4 sheets or thermal rolls), PNG previews, ZPL for Zebra printers
// (with RFID EPC encoding and read-back) and TSPL for the TSC/Gprinter/Xprinter family common in
// China. It also sends raw printer language to a printer over TCP port 9100 or to a
// /dev/usb/lp* device.
//
// Contract:
//   - A label carries only the copy number (份号), the document number (发文字号), the level mark
//     exactly as given by the caller (机密★10年: the level with its term; this package does not
//     import the register),
//     and the item's GDTI: a GS1-128 barcode of the AI (253) element string and a QR code. It never
//     carries a document title (DESIGN §5 rule 11): Label has no field for one.
//   - The barcode, the QR code and the RFID write come from the same epc.EPC, so the three
//     identities on one label cannot disagree.
//   - Data files are decoded strictly: an unknown key is an error naming the key and the file.
//   - All four outputs use the same layout in millimetres, so a template change shows up in
//     every output; tests decode the printed barcodes back with zbarimg.
//
// The QR code carries the element string in its bracketed form "(253)…": boombuler/barcode
// cannot put FNC1 in a QR code, and the bracketed form keeps the AI unambiguous for our scanner
// parser (epc.ParseGDTIElementString accepts both forms). The GS1-128 barcode is a real GS1
// symbol (leading FNC1).
package labels
