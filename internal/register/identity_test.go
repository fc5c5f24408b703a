package register_test

import (
	"context"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/epc"
	"github.com/custodyhq/custody/internal/register"
	"github.com/custodyhq/custody/internal/store/storetest"
)

// Each item gets its EPC and barcode when registered (issue 8), both decode to the item, and a
// label scanned at the desk — the GS1-128 barcode as a scanner sends it, or the tag's EPC — finds
// the item.
func TestItemsGetTheirIdentities(t *testing.T) {
	f := open(t, storetest.Target(t))
	ctx := context.Background()
	issuer := epc.Issuer{CompanyPrefix: "0614141", DocumentType: "00001"}
	f.reg.SetIssuer(issuer)
	_, items, err := f.reg.RegisterDocument(ctx, f.custodian, doc("ID-1", 2))
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		e, err := epc.DecodeHex(it.EPC)
		if err != nil {
			t.Fatalf("item %d: EPC %q: %v", it.ID, it.EPC, err)
		}
		if id, ok := issuer.ItemID(e); !ok || int64(id) != it.ID {
			t.Errorf("item %d: EPC %s decodes to item %d (ours=%v)", it.ID, it.EPC, id, ok)
		}
		if it.Barcode != e.BarcodeData() {
			t.Errorf("item %d: barcode %q, want the EPC's GDTI %q", it.ID, it.Barcode, e.BarcodeData())
		}
		stored, _ := f.reg.Item(ctx, f.custodian, it.ID)
		if stored.EPC != it.EPC || stored.Barcode != it.Barcode {
			t.Errorf("item %d as stored: %q %q, want %q %q", it.ID, stored.EPC, stored.Barcode, it.EPC, it.Barcode)
		}
	}
	if _, err := f.reg.StoreItems(ctx, f.custodian, "C-01", []int64{items[0].ID, items[1].ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.AddDesk(ctx, f.custodian, register.Desk{Code: "D-01", Name: "一号工作台"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.OpenSession(ctx, f.custodian, register.OpenRequest{Desk: "D-01", Purpose: "circulate", Due: time.Now().Add(48 * time.Hour).Format(time.RFC3339)}); err != nil {
		t.Fatal(err)
	}
	for i, data := range []string{"]C1" + items[0].Barcode, items[1].EPC} {
		res, err := f.reg.DeskScan(ctx, "D-01", data, "typed")
		if err != nil {
			t.Fatalf("scan %q: %v", data, err)
		}
		if res.Item == nil || res.Item.ID != items[i].ID {
			t.Errorf("scan %q: got %+v, want item %d", data, res.Item, items[i].ID)
		}
	}
}
