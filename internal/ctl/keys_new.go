package ctl

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/custodyhq/custody/internal/cryptoprofile"
)

// keysNewArgs are the arguments of custodyctl keys new: the security auditor's key pair for
// signed chain heads, made on the auditor's own machine (no server): SM2 under the sm profile,
// Ed25519 under standard, as PEM. The private key is written readable by its owner only and never
// leaves that machine; the public key goes to whoever verifies.
type keysNewArgs struct {
	profile, out string
}

func init() {
	add(define[keysNewArgs]("keys new", "",
		"make the security auditor's key pair for signed chain heads: -profile sm (SM2) or standard (Ed25519); writes NAME.key (owner only) and NAME.pub"))
}

func (a *keysNewArgs) flags(fs *flag.FlagSet) {
	fs.StringVar(&a.profile, "profile", "standard", "the installation's [crypto] profile: standard (Ed25519) or sm (SM2)")
	fs.StringVar(&a.out, "o", "auditor", "NAME: write NAME.key and NAME.pub (neither may exist)")
}

func (a *keysNewArgs) run(ctx context.Context, c *CLI, args []string) error {
	p, err := cryptoprofile.Parse(a.profile)
	if err != nil {
		return exitf(ExitUsage, "-profile: %v", err)
	}
	priv, pub, err := cryptoprofile.NewKeyPair(p)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		path string
		data []byte
		perm os.FileMode
	}{{a.out + ".key", priv, 0o600}, {a.out + ".pub", pub, 0o644}} {
		if err := writeNew(f.path, f.data, f.perm); err != nil {
			return err
		}
	}
	fmt.Fprintf(c.Stdout, c.say("已生成 %s 密钥对：私钥 %s（仅本人可读，勿离开本机），公钥 %s\n", "made a %s key pair: private %s (owner only; keep it on this machine), public %s\n"),
		p.SignatureAlg(), a.out+".key", a.out+".pub")
	return nil
}

// writeNew writes data to a file that must not exist yet, with perm.
func writeNew(path string, data []byte, perm os.FileMode) error {
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return exitf(ExitConflict, "%v", err)
	}
	_, err = w.Write(data)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
