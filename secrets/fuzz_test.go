package secrets

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzOpen feeds arbitrary stored ciphertexts (a sealed token as the database holds it, perhaps
// cut short, altered or sealed for another connection) to Open: no panic; anything but what
// Seal produced under the same key and associated data is ErrDecrypt; a sealed value opens to
// its plaintext.
func FuzzOpen(f *testing.F) {
	c, err := ParseKey("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	if err != nil {
		f.Fatal(err)
	}
	sealed, _ := c.Seal([]byte(`{"refresh_token":"r"}`), []byte("sandbox-hubspot"))
	f.Add(sealed, []byte("sandbox-hubspot"), []byte("x"))
	f.Add(sealed[:len(sealed)-1], []byte("sandbox-hubspot"), []byte(""))
	f.Add([]byte{}, []byte{}, []byte{})
	f.Add(bytes.Repeat([]byte{0}, 28), []byte("a"), []byte("secret"))
	f.Fuzz(func(t *testing.T, ciphertext, ad, plain []byte) {
		if out, err := c.Open(ciphertext, ad); err != nil && !errors.Is(err, ErrDecrypt) {
			t.Fatalf("Open: %v, want ErrDecrypt", err)
		} else if err == nil && out == nil {
			t.Fatal("opened to nothing")
		}
		s, err := c.Seal(plain, ad)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := c.Open(s, ad); err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("round trip: %q, %v; want %q", got, err, plain)
		}
		if _, err := c.Open(s, append(ad, 'x')); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("opened with other associated data: %v", err)
		}
	})
}

// FuzzParseKey: any MAPSYNC_SECRET_KEY value gives a cipher or an error saying what is wrong.
func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "", "short", "!!!!", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYxMjM0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseKey(s)
		if (c == nil) == (err == nil) {
			t.Fatalf("ParseKey(%q) = %v, %v", s, c, err)
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error")
		}
	})
}
