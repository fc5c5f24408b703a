// Package daemon is custodyd: its configuration (TOML, decoded strictly, validated at start with
// errors that name the key) and the wiring of store, register, API and their lifecycles.
//
// Contract: Load never does I/O beyond reading the file; Run opens everything, serves until ctx
// ends, then shuts down in order (HTTP first, then the store) and returns.
package daemon

import (
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

//go:generate sh -c "cp sample.toml ../../deploy/custodyd.toml"

// Sample is the documented default configuration.
//
//go:embed sample.toml
var Sample string

// Config is custodyd's configuration.
type Config struct {
	DataDir string `toml:"data_dir"`
	HTTP    struct {
		Listen   string   `toml:"listen"`
		TokenTTL Duration `toml:"token_ttl"`
	} `toml:"http"`
	Log struct {
		Level  string `toml:"level"`
		Format string `toml:"format"`
	} `toml:"log"`
	Bootstrap struct {
		AdminUser string `toml:"admin_user"`
	} `toml:"bootstrap"`
}

// Duration is a time.Duration written as "12h" or "90s".
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration like \"12h\" or \"90s\"", b)
	}
	d.Duration = v
	return nil
}

// Default is the configuration with no file: the sample's values.
func Default() Config {
	c, err := Parse(Sample)
	if err != nil {
		panic("embedded sample config: " + err.Error())
	}
	return c
}

// Load reads path over the defaults; an empty path means defaults only.
func Load(path string) (Config, error) {
	if path == "" {
		return Default(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	c, err := parseOver(Default(), string(b))
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes a configuration text strictly.
func Parse(text string) (Config, error) { return parseOver(Config{}, text) }

func parseOver(c Config, text string) (Config, error) {
	md, err := toml.Decode(text, &c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return Config{}, fmt.Errorf("line %d: %s", pe.Position.Line, pe.Message)
		}
		return Config{}, err
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		sort.Strings(keys)
		return Config{}, fmt.Errorf("unknown key %s (misspelled? see deploy/custodyd.toml for the keys)", strings.Join(keys, ", "))
	}
	return c, c.Validate()
}

// Validate checks values; each error names its key.
func (c Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir: must not be empty"))
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		errs = append(errs, fmt.Errorf("http.listen: %q is not host:port", c.HTTP.Listen))
	}
	if c.HTTP.TokenTTL.Duration < time.Minute || c.HTTP.TokenTTL.Duration > 30*24*time.Hour {
		errs = append(errs, fmt.Errorf("http.token_ttl: %v is outside 1m..720h", c.HTTP.TokenTTL.Duration))
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.Log.Level)); err != nil {
		errs = append(errs, fmt.Errorf("log.level: %q is not debug, info, warn or error", c.Log.Level))
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		errs = append(errs, fmt.Errorf("log.format: %q is not text or json", c.Log.Format))
	}
	if c.Bootstrap.AdminUser == "" {
		errs = append(errs, errors.New("bootstrap.admin_user: must not be empty"))
	}
	return errors.Join(errs...)
}

// Logger builds the structured logger the config asks for.
func (c Config) Logger(w *os.File) *slog.Logger {
	var lvl slog.Level
	lvl.UnmarshalText([]byte(c.Log.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
