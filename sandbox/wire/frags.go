package wire

import (
	"strings"
	"sync"
)

// Frags is a record rendered once as JSON, cut into numbered segments (one per field or
// property) that a reply concatenates instead of formatting and escaping the values again. It
// is one string: a little-endian uint32 header (the segment count n, with the top bit set when
// the bounds below are 4 bytes wide rather than 2), the n+1 segment bounds (offsets into the
// body), then the body: a free-form head (bytes before segment 0), the segments back to back,
// and a tail (bytes after the last). Keeping all of it in one allocation makes serving a record
// touch one block of memory, and a dataset of them costs the garbage collector one object per
// record. The zero Frags has no segments.
type Frags string

const wideBit = 1 << 31

// FragsBuilder builds a Frags: append the head to B, then for i in 0..n-1 call Mark(i) and
// append segment i, then Mark(n) and append the tail, then Done. Builders are pooled: one must
// not be used after Done.
type FragsBuilder struct {
	B     []byte
	marks []int
}

var builders = sync.Pool{New: func() any { return &FragsBuilder{} }}

// NewFragsBuilder starts a Frags of n segments.
func NewFragsBuilder(n int) *FragsBuilder {
	fb := builders.Get().(*FragsBuilder)
	fb.B = fb.B[:0]
	if cap(fb.marks) < n+1 {
		fb.marks = make([]int, n+1)
	}
	fb.marks = fb.marks[:n+1]
	clear(fb.marks)
	return fb
}

// Mark records that segment i starts (and segment i-1 ends) at the current end of B; Mark(n)
// ends the last segment.
func (fb *FragsBuilder) Mark(i int) { fb.marks[i] = len(fb.B) }

// Done returns the Frags and releases the builder.
func (fb *FragsBuilder) Done() Frags {
	n := len(fb.marks) - 1
	w := 2
	if len(fb.B) > 0xffff {
		w = 4
	}
	var sb strings.Builder
	sb.Grow(4 + w*(n+1) + len(fb.B))
	h := uint32(n)
	if w == 4 {
		h |= wideBit
	}
	sb.WriteByte(byte(h))
	sb.WriteByte(byte(h >> 8))
	sb.WriteByte(byte(h >> 16))
	sb.WriteByte(byte(h >> 24))
	for _, m := range fb.marks {
		sb.WriteByte(byte(m))
		sb.WriteByte(byte(m >> 8))
		if w == 4 {
			sb.WriteByte(byte(m >> 16))
			sb.WriteByte(byte(m >> 24))
		}
	}
	sb.Write(fb.B)
	if cap(fb.B) <= 64<<10 {
		builders.Put(fb)
	}
	return Frags(sb.String())
}

func (f Frags) header() (n, w int) {
	if len(f) < 4 {
		return 0, 2
	}
	h := uint32(f[0]) | uint32(f[1])<<8 | uint32(f[2])<<16 | uint32(f[3])<<24
	if h&wideBit != 0 {
		return int(h &^ wideBit), 4
	}
	return int(h), 2
}

// N is the number of segments.
func (f Frags) N() int {
	n, _ := f.header()
	return n
}

// bound is the body offset of segment i's start (i == n: the last one's end) in f.
func (f Frags) bound(i, n, w int) int {
	body := 4 + w*(n+1)
	at := 4 + w*i
	v := int(f[at]) | int(f[at+1])<<8
	if w == 4 {
		v |= int(f[at+2])<<16 | int(f[at+3])<<24
	}
	return body + v
}

// Head is the bytes before segment 0.
func (f Frags) Head() string {
	n, w := f.header()
	return string(f[4+w*(n+1) : f.bound(0, n, w)])
}

// Tail is the bytes after the last segment.
func (f Frags) Tail() string {
	n, w := f.header()
	return string(f[f.bound(n, n, w):])
}

// Span is segments i through j-1, contiguous in f.
func (f Frags) Span(i, j int) string {
	n, w := f.header()
	return string(f[f.bound(i, n, w):f.bound(j, n, w)])
}
