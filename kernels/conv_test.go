package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestDepthwiseConv2DChannels checks the convolution of a range of
// channels (one buffer set up for all of them) against DepthwiseConv2D
// channel by channel, on every path, over random geometries: thin images
// under large kernels, strides and dilations both ways, rows narrower and
// wider than the SIMD pass, images too large for one buffer.
func TestDepthwiseConv2DChannels(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, name := range AvailableImpls() {
		restore := UseImpl(name)
		for i := range 300 {
			ic := Im2col{C: 1, H: 1 + r.IntN(6), W: 1 + r.IntN(130), KH: 1 + r.IntN(5), KW: 1 + r.IntN(5),
				SH: 1 + r.IntN(2), SW: 1 + r.IntN(3), DH: 1 + r.IntN(2), DW: 1 + r.IntN(2)}
			switch i % 5 {
			case 0: // PP-OCR's classifier: 5×5 on 2-3 rows of 96
				ic.H, ic.W, ic.KH, ic.KW, ic.SW, ic.DH, ic.DW = 2+r.IntN(2), 96, 5, 5, 1, 1, 1
			case 1: // larger images: one band per channel or several
				ic.H, ic.W = 10+r.IntN(60), 20+r.IntN(200)
			}
			ic.PT, ic.PL = r.IntN(ic.KH), r.IntN(ic.KW)
			pb, pr := r.IntN(ic.KH), r.IntN(ic.KW)
			ic.OH = (ic.H+ic.PT+pb-(ic.KH-1)*ic.DH-1)/ic.SH + 1
			ic.OW = (ic.W+ic.PL+pr-(ic.KW-1)*ic.DW-1)/ic.SW + 1
			if ic.OH <= 0 || ic.OW <= 0 {
				continue
			}
			c := 1 + r.IntN(9)
			c0, c1 := r.IntN(c), c
			if c0 > 0 && r.IntN(2) == 0 {
				c1 = c0 + 1 + r.IntN(c-c0)
			}
			hw, ohw, kk := ic.H*ic.W, ic.OH*ic.OW, ic.KH*ic.KW
			x, w := randMat(r, c*hw), randMat(r, c*kk)
			var bias []float32
			if r.IntN(3) > 0 {
				bias = randMat(r, c)
			}
			got := randMat(r, c*ohw)
			want := append([]float32(nil), got...)
			var order []int
			DepthwiseConv2DChannels(got, x, &ic, w, bias, c0, c1, func(ch int) { order = append(order, ch) })
			for ch := c0; ch < c1; ch++ {
				one := ic
				one.X = x[ch*hw : (ch+1)*hw]
				var b float32
				if bias != nil {
					b = bias[ch]
				}
				DepthwiseConv2D(want[ch*ohw:(ch+1)*ohw], &one, w[ch*kk:(ch+1)*kk], b)
			}
			for j := range got {
				if got[j] != want[j] {
					t.Fatalf("%s: %+v channels [%d, %d) of %d: [%d] = %g, one by one %g", name, ic, c0, c1, c, j, got[j], want[j])
				}
			}
			if len(order) != c1-c0 {
				t.Fatalf("%s: %+v: done called for %v, want [%d, %d)", name, ic, order, c0, c1)
			}
			for j, ch := range order {
				if ch != c0+j {
					t.Fatalf("%s: %+v: done called for %v, want [%d, %d)", name, ic, order, c0, c1)
				}
			}
		}
		restore()
	}
}

// BenchmarkPadImage pads openWakeWord's inputs of its 1×3 convolutions
// (one column each side).
func BenchmarkPadImage(b *testing.B) {
	for _, s := range [][3]int{{24, 74, 32}, {48, 36, 16}, {72, 32, 8}} {
		c, h, w := s[0], s[1], s[2]
		x, img := make([]float32, c*h*w), make([]float32, c*h*(w+2))
		b.Run(itoa(c)+"x"+itoa(h)+"x"+itoa(w), func(b *testing.B) {
			for b.Loop() {
				PadImage(img, x, h, w, h, w+2, 0, 1, 0, c)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*c*h*(w+2)), "ns/value")
		})
	}
}
