package nn

// Logits computes the logits of the pass's wanted rows (p.Out): each row of
// x (rows of the pass, len(norm) values each) normalised with the final
// RMSNorm weight norm, then multiplied by the LM head, into its OutRun's
// Dst. One product covers all the rows; when they go to one place it writes
// there directly. With p.Hidden set, every row's normed state goes there
// too (a decoder used as an embedder).
func (ws *Workspace) Logits(p *Pass, x, norm []float32, eps float32, head *Tensor) {
	if p.Hidden != nil {
		RMSNormRows(p.Hidden[:p.N*len(norm)], x, norm, p.N, eps)
		p.HiddenDone = true
	}
	if len(p.Out) == 0 {
		return
	}
	dim, vocab := len(norm), head.Rows()
	k := 0
	for _, r := range p.Out {
		k += r.N
	}
	if cap(ws.rowsBuf) < k*dim {
		ws.rowsBuf = make([]float32, k*dim)
	}
	rows := ws.rowsBuf[:k*dim]
	j := 0
	for _, r := range p.Out {
		RMSNormRows(rows[j*dim:(j+r.N)*dim], x[r.Row*dim:(r.Row+r.N)*dim], norm, r.N, eps)
		j += r.N
	}
	if len(p.Out) == 1 {
		ws.Lin.MatMul(head, rows, k, p.Out[0].Dst[:k*vocab], &ws.Act)
		return
	}
	if cap(ws.logitBuf) < k*vocab {
		ws.logitBuf = make([]float32, k*vocab)
	}
	out := ws.logitBuf[:k*vocab]
	ws.Lin.MatMul(head, rows, k, out, &ws.Act)
	j = 0
	for _, r := range p.Out {
		copy(r.Dst[:r.N*vocab], out[j*vocab:(j+r.N)*vocab])
		j += r.N
	}
}

// OutRows calls fn with the logits of every wanted row of the pass (after
// Logits), for an architecture's post-processing (soft-capping, scaling).
func (p *Pass) OutRows(vocab int, fn func(logits []float32)) {
	for _, r := range p.Out {
		for i := range r.N {
			fn(r.Dst[i*vocab : (i+1)*vocab])
		}
	}
}
