package sqlstore

import (
	"slices"
	"testing"
)

func TestPadded(t *testing.T) {
	for n, want := range map[int]int{1: 1, 2: 2, 3: 4, 4: 4, 5: 8, 100: 128, 128: 128, 129: 256, 256: 256} {
		if got := padded(n); got != want {
			t.Errorf("padded(%d) = %d, want %d", n, got, want)
		}
	}
	args := padRows([]any{"a", 1, "b", 2}, 2, 4)
	if want := []any{"a", 1, "b", 2, "b", 2, "b", 2}; !slices.Equal(args, want) {
		t.Errorf("padRows = %v, want %v", args, want)
	}
}

func TestPieces(t *testing.T) {
	for _, c := range []struct {
		n    int
		want []int
	}{
		{0, nil},
		{1, []int{1}},
		{100, []int{64, 32, 4}},
		{127, []int{64, 32, 16, 8, 4, 2, 1}},
		{128, []int{128}},
		{300, []int{128, 128, 32, 8, 4}},
	} {
		got := pieces(c.n, 128)
		if !slices.Equal(got, c.want) {
			t.Errorf("pieces(%d, 128) = %v, want %v", c.n, got, c.want)
		}
		items := make([]int, c.n)
		for i := range items {
			items[i] = i
		}
		var joined []int
		for r := range runs(items, 128) {
			joined = append(joined, r...)
		}
		if !slices.Equal(joined, items) {
			t.Errorf("runs of %d items join to %d items", c.n, len(joined))
		}
	}
}
