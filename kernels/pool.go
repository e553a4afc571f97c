package kernels

// MaxPairs sets d[i] to the largest of a[2i], a[2i+1], b[2i] and b[2i+1],
// and of d[i] itself when acc: a 2×2 max-pooling window of stride 2 over
// the input rows a and b (a 1×2 one when b is a), NaN when any of the
// values is NaN. a and b must hold at least 2·len(d) values. (The sign of
// a zero maximum may differ between paths: max(-0, +0) is either.)
func MaxPairs(d, a, b []float32, acc bool) {
	n := len(d)
	a, b = a[:2*n], b[:2*n]
	i := maxPairsArch(d, a, b, acc)
	d, a, b = d[i:], a[2*i:], b[2*i:]
	if acc {
		for i := range d {
			d[i] = max(d[i], a[2*i], a[2*i+1], b[2*i], b[2*i+1])
		}
		return
	}
	for i := range d {
		d[i] = max(a[2*i], a[2*i+1], b[2*i], b[2*i+1])
	}
}
