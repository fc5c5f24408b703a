package epc_test

import (
	"fmt"

	"github.com/custodyhq/custody/internal/epc"
)

// What `custodyctl epc decode HEX` prints: the tag URI, then the pure-identity URI.
func ExampleDecodeHex() {
	e, err := epc.DecodeHex("2C74257BF46072000000162E")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.TagURI())
	fmt.Println(e.PureIdentityURI())
	// Output:
	// urn:epc:tag:gdti-96:3.0614141.12345.5678
	// urn:epc:id:gdti:0614141.12345.5678
}

// What `custodyctl epc encode TAG-URI` prints: 24 upper-case hex digits.
func ExampleParseTagURI() {
	e, err := epc.ParseTagURI("urn:epc:tag:gdti-96:3.0614141.12345.5678")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e.Hex())
	// Output:
	// 2C74257BF46072000000162E
}

// Errors name the field and wrap a sentinel.
func ExampleParseTagURI_invalid() {
	_, err := epc.ParseTagURI("urn:epc:tag:gdti-96:3.0614141.12345.01")
	fmt.Println(err)
	_, err = epc.DecodeHex("3114257BF400000000000000")
	fmt.Println(err)
	// Output:
	// epc: parse "urn:epc:tag:gdti-96:3.0614141.12345.01": gdti-96: serial "01": leading zeros not allowed
	// epc: decode "3114257BF400000000000000": header 0x31 is sscc-96: unsupported EPC scheme
}

// How the register issues an item's EPC and barcode, and recognises its own tags.
func ExampleIssuer() {
	is := epc.Issuer{CompanyPrefix: "6951234", DocumentType: "00001"}
	e, _ := is.ForItem(42)
	fmt.Println(e.Hex(), e.TagURI())
	fmt.Println(e.ElementString())
	foreign, _ := epc.DecodeHex("3074257BF7194E4000001A85")
	fmt.Println(epc.IsOurs(e, is.CompanyPrefix), epc.IsOurs(foreign, is.CompanyPrefix), foreign.Scheme())
	id, ok := is.ItemID(e)
	fmt.Println(id, ok)
	// Output:
	// 2C15A845080002000000002A urn:epc:tag:gdti-96:0.6951234.00001.42
	// (253)695123400001142
	// true false sgtin-96
	// 42 true
}
