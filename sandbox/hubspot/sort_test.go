package hubspot

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// sortHits must give every page the order a full stable sort gives, whichever path it takes.
func TestSortHitsMatchesStableSort(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 100, 1000} {
		recs := make([]*record, n)
		for i := range recs {
			stamp := ""
			if r.IntN(10) > 0 {
				stamp = strconv.Itoa(1_700_000_000_000 + r.IntN(20)*1000) // many equal stamps
			}
			recs[i] = &record{id: int64(i), vals: []string{stamp, strconv.Itoa(r.IntN(5))}}
		}
		sorts := []sortSpec{{idx: 0, kind: cmpNumber}, {idx: 1, kind: cmpNumber, desc: true}}
		want := slices.Clone(recs)
		slices.SortStableFunc(want, func(a, c *record) int {
			for _, sp := range sorts {
				ka, kc := makeKey(sp.kind, a.vals[sp.idx]), makeKey(sp.kind, c.vals[sp.idx])
				var x int
				switch {
				case !ka.ok && !kc.ok:
				case !ka.ok:
					x = 1
				case !kc.ok:
					x = -1
				default:
					x = compareKeys(ka, kc)
					if sp.desc {
						x = -x
					}
				}
				if x != 0 {
					return x
				}
			}
			return 0
		})
		for _, need := range []int{0, 1, 5, n / 5, n} {
			got := sortHits(slices.Clone(recs), sorts, need)
			if len(got) != n {
				t.Fatalf("n=%d need=%d: got %d hits, want all %d", n, need, len(got), n)
			}
			upto := min(need, n)
			if need == 0 {
				upto = n
			}
			for i := range upto {
				if got[i] != want[i] {
					t.Fatalf("n=%d need=%d: position %d is record %d, want %d", n, need, i, got[i].id, want[i].id)
				}
			}
		}
	}
}
