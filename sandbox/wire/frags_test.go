package wire

import (
	"strings"
	"testing"
)

func TestFrags(t *testing.T) {
	for _, long := range []bool{false, true} {
		segs := []string{",a", ",bb", ""}
		if long {
			segs[1] = "," + strings.Repeat("b", 70_000) // past 64 KiB: 4-byte bounds
		}
		fb := NewFragsBuilder(3)
		fb.B = append(fb.B, "head"...)
		for i, seg := range segs {
			fb.Mark(i)
			fb.B = append(fb.B, seg...)
		}
		fb.Mark(3)
		fb.B = append(fb.B, "tail"...)
		f := fb.Done()
		if f.N() != 3 || f.Head() != "head" || f.Tail() != "tail" || f.Span(0, 1) != segs[0] || f.Span(1, 2) != segs[1] ||
			f.Span(2, 3) != "" || f.Span(0, 3) != segs[0]+segs[1] {
			t.Fatalf("long %v: got n %d head %q tail %q spans %.20q %.20q", long, f.N(), f.Head(), f.Tail(), f.Span(0, 1), f.Span(1, 2))
		}
	}
	if Frags("").N() != 0 {
		t.Fatal("the zero Frags has segments")
	}
}
