package ingest_test

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/custodyhq/custody/internal/cryptoprofile"
	"github.com/custodyhq/custody/internal/store"
	"github.com/custodyhq/custody/internal/wire"
)

var updateMACVectors = flag.Bool("update-mac-vectors", false, "rewrite firmware-protocol/vectors/wire_mac_alg.json")

// enrollWith enrols agent id with its fixed key and the MAC algorithm mac, as custodyd does under
// the profile whose MAC it is.
func enrollWith(t testing.TB, st *store.Store, id, mac string) []byte {
	t.Helper()
	k := fixedKey(id)
	err := st.Write(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO agents(id, key, created_at, mac_alg) VALUES (?,?,?,?)`, id, k, store.Now(), mac)
		return err
	})
	if err != nil {
		t.Fatalf("enroll %s: %v", id, err)
	}
	return k
}

// fixedKey is agent id's key in enrollWith: known before the agent is enrolled, so a broker's
// password file can be written first.
func fixedKey(id string) []byte { return []byte(fmt.Sprintf("%-32s", id+"-key")) }

func sealWith(t testing.TB, mac string, key []byte, agent string, seq uint64) []byte {
	t.Helper()
	h, _ := cryptoprofile.MACHash(mac)
	env, err := wire.SealWith(wire.DirObs, mac, h, key, agent, "b1", seq, fmt.Sprintf("%s-%d", agent, seq), time.Now(), wire.KindDoor, door(int(seq)))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := json.Marshal(env)
	return p
}

// An agent enrolled under the 国密 profile publishes HMAC-SM3 envelopes and custodyd stores them;
// the same observation MACed with HMAC-SHA256 — naming it, or naming nothing as a 1.2 agent
// would — is a downgrade: dropped and counted as mac_alg, never verified with the weaker MAC. An
// envelope that names hmac-sm3 but carries an HMAC-SHA256 is bad_mac. An agent enrolled under the
// standard profile is refused an SM3 envelope the same way.
func TestEnrolledMACAlgorithmIsEnforced(t *testing.T) {
	st := openStore(t, "")
	e := embedded(t, st)
	smKey := enrollWith(t, st, "agent-sm", wire.MACSM3)
	stdKey := enrollWith(t, st, "agent-std", wire.MACSHA256)
	r := startIngest(t, e, st, nil)
	pub := internalClient(t, e)
	tp := wire.Topics{}

	send(t, pub, tp.Obs("agent-sm"), sealWith(t, wire.MACSM3, smKey, "agent-sm", 1))
	send(t, pub, tp.Obs("agent-std"), sealWith(t, wire.MACSHA256, stdKey, "agent-std", 1))
	waitFor(t, 10*time.Second, func() bool { return rows(t, st, "") == 2 }, "the SM3 and the SHA-256 envelope stored")

	unnamed := func() []byte {
		env, _ := wire.Seal(wire.DirObs, smKey, "agent-sm", "b1", 3, "agent-sm-3", time.Now(), wire.KindDoor, door(3))
		env.MACAlg = ""
		p, _ := json.Marshal(env)
		return p
	}
	mislabelled := func() []byte {
		env, _ := wire.Seal(wire.DirObs, smKey, "agent-sm", "b1", 4, "agent-sm-4", time.Now(), wire.KindDoor, door(4))
		env.MACAlg = wire.MACSM3 // the label says SM3, the MAC is SHA-256
		p, _ := json.Marshal(env)
		return p
	}
	cases := []struct {
		reason, topic string
		payload       []byte
	}{
		{"mac_alg", tp.Obs("agent-sm"), sealWith(t, wire.MACSHA256, smKey, "agent-sm", 2)},
		{"mac_alg", tp.Obs("agent-sm"), unnamed()},
		{"bad_mac", tp.Obs("agent-sm"), mislabelled()},
		{"mac_alg", tp.Obs("agent-std"), sealWith(t, wire.MACSM3, stdKey, "agent-std", 2)},
	}
	want := map[string]float64{}
	for _, c := range cases {
		want[c.reason]++
		send(t, pub, c.topic, c.payload)
		waitFor(t, 10*time.Second, func() bool { return dropped(r, c.reason) == want[c.reason] }, "drop counted as "+c.reason)
	}
	if got := rows(t, st, ""); got != 2 {
		t.Errorf("rows: got %d, want 2 (no downgraded envelope stored)", got)
	}
}

// macVector is one entry of firmware-protocol/vectors/wire_mac_alg.json: the same observation
// under each MAC algorithm (contract 1.3), for implementations outside Go.
type macVector struct {
	Name      string `json:"name"`
	Dir       string `json:"dir"`
	MACAlg    string `json:"mac_alg"`
	KeyHex    string `json:"key_hex"`
	Payload   string `json:"payload"`
	Canonical string `json:"canonical"`
	MAC       string `json:"mac"`
}

// The vectors of both MAC algorithms verify with their algorithm and are refused (mac_alg) by a
// receiver expecting the other.
func TestMACAlgVectors(t *testing.T) {
	path := filepath.Join("..", "..", "firmware-protocol", "vectors", "wire_mac_alg.json")
	key, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	if *updateMACVectors {
		var vs []macVector
		at := time.Date(2026, 12, 6, 9, 30, 0, 125e6, time.UTC)
		for _, mac := range []string{wire.MACSHA256, wire.MACSM3} {
			h, _ := cryptoprofile.MACHash(mac)
			env, err := wire.SealWith(wire.DirObs, mac, h, key, "agent-7", "boot-3f9a", 100, "agent-7-door-1", at, wire.KindDoor, wire.Door{Cabinet: "C-0101", State: "open"})
			if err != nil {
				t.Fatal(err)
			}
			p, _ := env.Marshal()
			vs = append(vs, macVector{Name: "obs-door-" + mac, Dir: "obs", MACAlg: mac, KeyHex: hex.EncodeToString(key), Payload: string(p), Canonical: string(env.Canonical(wire.DirObs)), MAC: env.MAC})
		}
		b, _ := json.MarshalIndent(vs, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./internal/ingest -run MACAlgVectors -update-mac-vectors)", err)
	}
	var vs []macVector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 {
		t.Fatalf("got %d vectors, want one per MAC algorithm", len(vs))
	}
	for _, v := range vs {
		env, err := wire.Parse([]byte(v.Payload), wire.DirObs)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		h, _ := cryptoprofile.MACHash(v.MACAlg)
		if got := string(env.Canonical(wire.DirObs)); got != v.Canonical {
			t.Errorf("%s: canonical: got %q, want %q", v.Name, got, v.Canonical)
		}
		if got := env.ComputeMACWith(wire.DirObs, key, h); got != v.MAC || env.MACAlg != v.MACAlg {
			t.Errorf("%s: mac: got %s (%s), want %s", v.Name, got, env.MACAlg, v.MAC)
		}
		if err := env.VerifyWith(wire.DirObs, key, v.MACAlg, h); err != nil {
			t.Errorf("%s: verify: %v", v.Name, err)
		}
		other := map[string]string{wire.MACSHA256: wire.MACSM3, wire.MACSM3: wire.MACSHA256}[v.MACAlg]
		oh, _ := cryptoprofile.MACHash(other)
		if err := env.VerifyWith(wire.DirObs, key, other, oh); wire.ReasonOf(err) != wire.ReasonMACAlg {
			t.Errorf("%s checked as %s: got %v, want mac_alg", v.Name, other, err)
		}
	}
}
