package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"gopkg.in/yaml.v3"
)

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	key, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseKey(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := c.Seal([]byte("refresh-token-123"), []byte("conn-a"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("refresh-token-123")) {
		t.Fatal("ciphertext contains the plaintext")
	}
	got, err := c.Open(sealed, []byte("conn-a"))
	if err != nil || string(got) != "refresh-token-123" {
		t.Fatalf("got %q, %v; want the plaintext", got, err)
	}
	if _, err := c.Open(sealed, []byte("conn-b")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("open with other associated data: got %v, want ErrDecrypt", err)
	}
	other, _ := GenerateKey()
	c2, _ := ParseKey(other)
	if _, err := c2.Open(sealed, []byte("conn-a")); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("open with other key: got %v, want ErrDecrypt", err)
	}
	again, _ := c.Seal([]byte("refresh-token-123"), []byte("conn-a"))
	if bytes.Equal(again, sealed) {
		t.Fatal("two seals of the same plaintext are equal: nonce not random")
	}
}

func TestParseKeyErrors(t *testing.T) {
	t.Parallel()
	short := base64.StdEncoding.EncodeToString([]byte("too short"))
	tests := map[string]struct {
		in   string
		want string
	}{
		"empty":      {"", "MAPSYNC_SECRET_KEY is not set"},
		"not base64": {"%%%not-base64%%%", "not valid base64"},
		"wrong size": {short, "must decode to 32 bytes, got 9"},
		"whitespace": {"   ", "is not set"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseKey(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want error containing %q", err, tc.want)
			}
			if tc.in != "" && strings.TrimSpace(tc.in) != "" && strings.Contains(err.Error(), tc.in) {
				t.Fatalf("error %q repeats the key", err)
			}
		})
	}
}

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	const value = "hunter2-super-secret"
	type holder struct {
		Token Secret `json:"token" yaml:"token"`
	}
	h := holder{Token: value}
	var out []string
	out = append(out, fmt.Sprint(h.Token), fmt.Sprintf("%v %+v %#v %s", h, h, h, h.Token))
	js, _ := json.Marshal(h)
	var back holder
	if err := json.Unmarshal(js, &back); err != nil || back.Token != Redacted {
		t.Fatalf("json: got %s, want token %s", js, Redacted)
	}
	ys, _ := yaml.Marshal(h)
	out = append(out, string(ys))
	var buf bytes.Buffer
	log := zerolog.New(&buf)
	log.Info().Interface("cfg", h).Stringer("tok", h.Token).Msg("x")
	out = append(out, buf.String())
	for _, s := range out {
		if strings.Contains(s, value) {
			t.Fatalf("secret leaked in %q", s)
		}
		if !strings.Contains(s, Redacted) {
			t.Fatalf("got %q, want it to show %s", s, Redacted)
		}
	}
	if h.Token.Reveal() != value {
		t.Fatal("Reveal lost the value")
	}
	if Secret("").String() != "" {
		t.Fatal("empty secret should print empty")
	}
}
