// Package epc implements the part of the GS1 EPC Tag Data Standard (TDS) that custody needs:
// GDTI-96 encode and decode for our own tags, and decode (and encode, for test tools) of the
// SGTIN-96 and GIAI-96 schemes, so that a foreign tag seen in a cabinet is reported for what it
// is (a retail item, a company asset) instead of as noise.
//
// Contract:
//   - An EPC value is only made by NewGDTI96, NewSGTIN96, NewGIAI96, Decode, DecodeHex or
//     ParseTagURI, all of which validate every field, so a non-zero EPC always encodes. The zero
//     EPC is "no EPC": its methods return empty strings.
//   - Decoders never panic; bad input returns an error that wraps one of the sentinel errors
//     below and, where a single field is at fault, a *FieldError naming the field.
//   - Tag URIs are parsed strictly in their canonical TDS form, so for every accepted URI
//     ParseTagURI(u).TagURI() == u, and for every decoded tag DecodeHex(h).Hex() == h in upper
//     case. The fuzz tests hold the package to that.
//
// Binary layout (TDS §14): header(8) filter(3) partition(3), then company prefix and the
// scheme's reference field with bit widths from the partition table, then the serial:
//
//	GDTI-96  0x2C  company prefix + document type = 41 bits, serial 41 bits
//	SGTIN-96 0x30  company prefix + item reference = 44 bits, serial 38 bits
//	GIAI-96  0x34  company prefix + asset reference = 82 bits
//
// # How custody maps its items to EPCs, and why the mapping is opaque
//
// Each registered item (one numbered copy, 份号, or a registered reproduction) gets a GDTI-96:
// the installation's GS1 company prefix, one configured document type for the whole
// installation, and the item's numeric register id as the serial (see Issuer). The obvious
// alternative — document → document type, copy number → serial — is deliberately NOT used.
// A UHF tag answers any reader within several metres, and anyone can decode an EPC with public
// tools. If the EPC carried the document, its copy number or its level, a passer-by with a
// handheld reader could count how many copies of one document are in a room, link copies of the
// same document across rooms, or spot which cabinet holds top-secret material. With an opaque
// serial, a tag says only "an item of this installation, number N"; the link from N to the
// document, copy and level lives in the register, behind custodyd's access control. The same
// holds for the barcode (AI 253 element string), which carries the same GDTI.
package epc
