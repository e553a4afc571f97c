package exec

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/edgeai-go/edgeai/models/onnx"
)

// The operators of detection heads: NonMaxSuppression and RoiAlign.

func init() {
	register("NonMaxSuppression", 2, 5, 1, func(nc *nodeCtx) (kernel, error) {
		return &nms{center: nc.a.intIn("center_point_box", 0, 0, 1) == 1}, nil
	})
	register("RoiAlign", 3, 3, 1, newRoiAlign)
}

// ---- NonMaxSuppression

// nms is NonMaxSuppression: per batch and class, the boxes whose score
// passes score_threshold are visited by decreasing score (ties: the lower
// index first) and kept unless their IoU with a box already kept exceeds
// iou_threshold, up to max_output_boxes_per_class. The output lists
// [batch, class, box] triples, batch by batch and class by class, in the
// order the boxes were kept (ONNX Runtime's order).
type nms struct {
	center bool // boxes as [x_center, y_center, width, height]
}

func (k *nms) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: onnx.Int64, rank: 2, shape: []int{-1, 3}}
	return nil
}

// scalarArg reads an optional scalar input (a one-element tensor).
func scalarArg(t *Tensor, what string) (float64, bool, error) {
	if t == nil {
		return 0, false, nil
	}
	if t.Len() != 1 {
		return 0, false, fmt.Errorf("%s: want one value, got %v", what, t)
	}
	v, err := floatsOf(t)
	if err != nil {
		return 0, false, fmt.Errorf("%w: %s of %v", onnx.ErrFormat, what, t.Type)
	}
	return v[0], true, nil
}

func (k *nms) run(rc *runCtx, in, out []*Tensor) error {
	boxes, scores := in[0], in[1]
	if len(boxes.Shape) != 3 || boxes.Shape[2] != 4 || len(scores.Shape) != 3 ||
		scores.Shape[0] != boxes.Shape[0] || scores.Shape[2] != boxes.Shape[1] {
		return fmt.Errorf("NonMaxSuppression of boxes %v and scores %v (want [B,N,4] and [B,C,N])", boxes.Shape, scores.Shape)
	}
	if boxes.Type != onnx.Float || scores.Type != onnx.Float {
		return fmt.Errorf("%w: NonMaxSuppression of %v and %v", ErrUnsupported, boxes.Type, scores.Type)
	}
	var maxOut int64
	if len(in) > 2 && in[2] != nil {
		v, err := intsOf(in[2])
		if err != nil || len(v) != 1 {
			return fmt.Errorf("%w: NonMaxSuppression max_output_boxes_per_class %v", onnx.ErrFormat, in[2])
		}
		maxOut = max(v[0], 0)
	}
	var iouT, scoreT float64
	var hasScore bool
	var err error
	if len(in) > 3 {
		if iouT, _, err = scalarArg(in[3], "NonMaxSuppression iou_threshold"); err != nil {
			return err
		}
		if iouT < 0 || iouT > 1 {
			return fmt.Errorf("NonMaxSuppression iou_threshold %v outside [0, 1]", iouT)
		}
	}
	if len(in) > 4 {
		if scoreT, hasScore, err = scalarArg(in[4], "NonMaxSuppression score_threshold"); err != nil {
			return err
		}
	}
	nb, nc, n := scores.Shape[0], scores.Shape[1], scores.Shape[2]
	bd, sd := boxes.Data.([]float32), scores.Data.([]float32)
	// Corners of every box, [y1, x1, y2, x2] with y1 <= y2, x1 <= x2.
	corners := make([][4]float32, nb*n)
	for i := range corners {
		b := bd[i*4 : i*4+4]
		if k.center {
			xc, yc, w, h := b[0], b[1], b[2], b[3]
			corners[i] = [4]float32{yc - h/2, xc - w/2, yc + h/2, xc + w/2}
		} else {
			corners[i] = [4]float32{min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]), max(b[1], b[3])}
		}
	}
	var sel []int64
	type cand struct {
		score float32
		idx   int
	}
	var cands []cand
	var kept []int
	for b := range nb {
		for c := range nc {
			if maxOut == 0 {
				break
			}
			if rc.stopped() {
				return rc.ctx.Err()
			}
			row := sd[(b*nc+c)*n : (b*nc+c+1)*n]
			cands = cands[:0]
			for i, s := range row {
				if !hasScore || float64(s) > scoreT {
					cands = append(cands, cand{s, i})
				}
			}
			slices.SortStableFunc(cands, func(x, y cand) int { return cmp.Compare(y.score, x.score) })
			kept = kept[:0]
			for _, cd := range cands {
				if int64(len(kept)) >= maxOut {
					break
				}
				a := corners[b*n+cd.idx]
				ok := true
				for _, j := range kept {
					if iouAbove(a, corners[b*n+j], float32(iouT)) {
						ok = false
						break
					}
				}
				if ok {
					kept = append(kept, cd.idx)
					sel = append(sel, int64(b), int64(c), int64(cd.idx))
				}
			}
		}
	}
	o, err := rc.alloc(onnx.Int64, []int{len(sel) / 3, 3})
	if err != nil {
		return err
	}
	copy(o.Data.([]int64), sel)
	out[0] = o
	return nil
}

// iouAbove reports whether the intersection over union of two boxes
// (corners [y1, x1, y2, x2]) exceeds t; boxes without area never do.
func iouAbove(a, b [4]float32, t float32) bool {
	ih := min(a[2], b[2]) - max(a[0], b[0])
	iw := min(a[3], b[3]) - max(a[1], b[1])
	if ih <= 0 || iw <= 0 {
		return false
	}
	inter := ih * iw
	aa := (a[2] - a[0]) * (a[3] - a[1])
	ab := (b[2] - b[0]) * (b[3] - b[1])
	union := aa + ab - inter
	if aa <= 0 || ab <= 0 || union <= 0 {
		return false
	}
	return inter/union > t
}

// ---- RoiAlign

// roiAlign is RoiAlign: each region of interest is divided into
// output_height × output_width bins, each bin sampled on a grid of
// bilinearly interpolated points, averaged (avg) or, as ONNX Runtime does
// it, the largest of the weighted corner values of the samples (max).
type roiAlign struct {
	halfPixel bool
	max       bool
	oh, ow    int
	sampling  int
	scale     float32
}

func newRoiAlign(nc *nodeCtx) (kernel, error) {
	k := &roiAlign{
		oh:       nc.a.intIn("output_height", 1, 1, 1<<16),
		ow:       nc.a.intIn("output_width", 1, 1, 1<<16),
		sampling: nc.a.intIn("sampling_ratio", 0, 0, 1<<16),
		scale:    nc.a.float("spatial_scale", 1),
	}
	switch m := nc.a.str("mode", "avg"); m {
	case "avg":
	case "max":
		k.max = true
	default:
		return nil, fmt.Errorf("%w: RoiAlign mode %q", ErrUnsupported, m)
	}
	if nc.opset >= 16 {
		switch m := nc.a.str("coordinate_transformation_mode", "half_pixel"); m {
		case "half_pixel":
			k.halfPixel = true
		case "output_half_pixel":
		default:
			return nil, fmt.Errorf("%w: RoiAlign coordinate_transformation_mode %q", ErrUnsupported, m)
		}
	}
	return k, nil
}

func (k *roiAlign) infer(in, out []vinfo) error {
	out[0] = vinfo{typ: in[0].typ, rank: 4, shape: []int{-1, -1, k.oh, k.ow}}
	if in[1].rank == 2 {
		out[0].shape[0] = in[1].shape[0]
	}
	if in[0].rank == 4 {
		out[0].shape[1] = in[0].shape[1]
	}
	return nil
}

// roiSample is one sampling point: the offsets of its four neighbours in
// a channel and their bilinear weights.
type roiSample struct {
	pos [4]int
	w   [4]float32
}

func (k *roiAlign) run(rc *runCtx, in, out []*Tensor) error {
	x, rois, bi := in[0], in[1], in[2]
	if len(x.Shape) != 4 {
		return fmt.Errorf("RoiAlign of rank %d (want 4)", len(x.Shape))
	}
	if x.Type != onnx.Float || rois.Type != onnx.Float {
		return fmt.Errorf("%w: RoiAlign of %v with %v rois", ErrUnsupported, x.Type, rois.Type)
	}
	if len(rois.Shape) != 2 || rois.Shape[1] != 4 {
		return fmt.Errorf("RoiAlign rois of shape %v (want [num_rois, 4])", rois.Shape)
	}
	nr := rois.Shape[0]
	idx, err := intsOf(bi)
	if err != nil || len(bi.Shape) != 1 || len(idx) != nr {
		return fmt.Errorf("RoiAlign batch_indices %v for %d rois", bi, nr)
	}
	nb, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	for _, b := range idx {
		if b < 0 || b >= int64(nb) {
			return fmt.Errorf("RoiAlign batch index %d outside [0, %d)", b, nb)
		}
	}
	o, err := rc.alloc(onnx.Float, []int{nr, c, k.oh, k.ow})
	if err != nil {
		return err
	}
	out[0] = o
	xd, rd, od := x.Data.([]float32), rois.Data.([]float32), o.Data.([]float32)
	// The sampling grid of a roi can be as large as the image: check the
	// work before doing it.
	var work int64
	gridOf := func(extent float32, bins int) int {
		if k.sampling > 0 {
			return k.sampling
		}
		return int(math.Ceil(float64(extent / float32(bins))))
	}
	offset := float32(0)
	if k.halfPixel {
		offset = 0.5
	}
	type roiGeom struct {
		y0, x0, bh, bw float32
		gh, gw         int
	}
	geo := make([]roiGeom, nr)
	for r := range nr {
		b := rd[r*4 : r*4+4]
		x0, y0 := b[0]*k.scale-offset, b[1]*k.scale-offset
		x1, y1 := b[2]*k.scale-offset, b[3]*k.scale-offset
		rw, rh := x1-x0, y1-y0
		if !k.halfPixel {
			rw, rh = max(rw, 1), max(rh, 1)
		}
		g := roiGeom{y0: y0, x0: x0, bh: rh / float32(k.oh), bw: rw / float32(k.ow), gh: gridOf(rh, k.oh), gw: gridOf(rw, k.ow)}
		if g.gh < 0 || g.gw < 0 || g.gh > maxDim/max(g.gw, 1) {
			return fmt.Errorf("RoiAlign roi %d: sampling grid %dx%d", r, g.gh, g.gw)
		}
		geo[r] = g
		work += int64(g.gh) * int64(g.gw) * int64(k.oh*k.ow)
	}
	if work > int64(rc.e.limit) {
		return fmt.Errorf("%w: RoiAlign takes %d samples", ErrLimit, work)
	}
	rc.parWork(nr, int(min(work*int64(c)*8, maxDim)), func(lo, hi int) {
		var samples []roiSample
		for r := lo; r < hi; r++ {
			g := geo[r]
			count := float32(max(g.gh*g.gw, 1))
			img := xd[int(idx[r])*c*h*w:]
			for ph := range k.oh {
				for pw := range k.ow {
					samples = samples[:0]
					for iy := range g.gh {
						yy := g.y0 + float32(ph)*g.bh + (float32(iy)+0.5)*g.bh/float32(g.gh)
						for ix := range g.gw {
							xx := g.x0 + float32(pw)*g.bw + (float32(ix)+0.5)*g.bw/float32(g.gw)
							samples = append(samples, bilinearSample(yy, xx, h, w))
						}
					}
					for ch := range c {
						plane := img[ch*h*w : (ch+1)*h*w]
						var v float32
						for si, s := range samples {
							if k.max {
								for j := range 4 {
									t := s.w[j] * plane[s.pos[j]]
									if (si == 0 && j == 0) || t > v {
										v = t
									}
								}
								continue
							}
							v += s.w[0]*plane[s.pos[0]] + s.w[1]*plane[s.pos[1]] + s.w[2]*plane[s.pos[2]] + s.w[3]*plane[s.pos[3]]
						}
						if !k.max {
							v /= count
						}
						od[((r*c+ch)*k.oh+ph)*k.ow+pw] = v
					}
				}
			}
		}
	})
	return nil
}

// bilinearSample returns the neighbours and weights of the point (y, x) of
// an h×w plane, as RoiAlign samples it: points more than one pixel
// outside contribute nothing, the others are clamped to the plane.
func bilinearSample(y, x float32, h, w int) roiSample {
	if y < -1 || y > float32(h) || x < -1 || x > float32(w) {
		return roiSample{}
	}
	y, x = max(y, 0), max(x, 0)
	yl, xl := int(y), int(x)
	var yh, xh int
	if yl >= h-1 {
		yl, yh, y = h-1, h-1, float32(h-1)
	} else {
		yh = yl + 1
	}
	if xl >= w-1 {
		xl, xh, x = w-1, w-1, float32(w-1)
	} else {
		xh = xl + 1
	}
	ly, lx := y-float32(yl), x-float32(xl)
	hy, hx := 1-ly, 1-lx
	return roiSample{
		pos: [4]int{yl*w + xl, yl*w + xh, yh*w + xl, yh*w + xh},
		w:   [4]float32{hy * hx, hy * lx, ly * hx, ly * lx},
	}
}
