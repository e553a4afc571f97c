package tokenizer

import "fmt"

// Encode returns the token ids of text. Invalid UTF-8 is accepted (bytes
// are spelled with byte tokens, or read as U+FFFD, as llama.cpp does). The
// only error is a vocabulary that lacks a token AddSpecial needs.
func (t *Tokenizer) Encode(text string, opt EncodeOptions) ([]int, error) {
	var frags []fragment
	if text != "" {
		frags = t.partition(text, opt.ParseSpecial)
	}
	out := make([]int, 0, len(text)/3+2)
	switch t.kind {
	case kindSPM:
		if opt.AddSpecial && t.addBOS {
			if t.bos < 0 {
				return nil, fmt.Errorf("tokenizer: vocabulary asks for BOS but has none")
			}
			out = append(out, t.bos)
		}
		prevSpecial := true // the start of the text counts as following a special token
		for _, f := range frags {
			if f.tok >= 0 {
				out = append(out, int(f.tok))
				prevSpecial = true
				continue
			}
			out = t.encodeSPM(spmEscape(text[f.off:f.off+f.n], t.addSpacePrefix && prevSpecial), out)
			prevSpecial = false
		}
		if opt.AddSpecial && t.addEOS {
			if t.eos < 0 {
				return nil, fmt.Errorf("tokenizer: vocabulary asks for EOS but has none")
			}
			out = append(out, t.eos)
		}
	case kindBPE:
		if opt.AddSpecial && t.addBOS {
			if t.bos < 0 {
				return nil, fmt.Errorf("tokenizer: vocabulary asks for BOS but has none")
			}
			out = append(out, t.bos)
		}
		var st bpeState
		for _, f := range frags {
			if f.tok >= 0 {
				out = append(out, int(f.tok))
				continue
			}
			out = t.encodeBPE(text[f.off:f.off+f.n], &st, out)
		}
		if opt.AddSpecial && t.addEOS {
			if t.eos < 0 {
				return nil, fmt.Errorf("tokenizer: vocabulary asks for EOS but has none")
			}
			out = append(out, t.eos)
		}
	case kindUGM:
		if opt.AddSpecial && t.addBOS {
			if t.bos < 0 {
				return nil, fmt.Errorf("tokenizer: vocabulary asks for BOS but has none")
			}
			out = append(out, t.bos)
		}
		for _, f := range frags {
			if f.tok >= 0 {
				out = append(out, int(f.tok))
				continue
			}
			out = t.encodeUGM(text[f.off:f.off+f.n], out)
		}
		if opt.AddSpecial && t.addEOS {
			if t.eos < 0 {
				return nil, fmt.Errorf("tokenizer: vocabulary asks for EOS but has none")
			}
			out = append(out, t.eos)
		}
	case kindWPM:
		if opt.AddSpecial {
			if t.bos < 0 {
				return nil, fmt.Errorf("tokenizer: vocabulary has no [CLS] (BOS) token")
			}
			out = append(out, t.bos)
		}
		for _, f := range frags {
			if f.tok >= 0 {
				out = append(out, int(f.tok))
				continue
			}
			out = t.encodeWPM(text[f.off:f.off+f.n], out)
		}
		if opt.AddSpecial {
			if t.sep < 0 {
				return nil, fmt.Errorf("tokenizer: vocabulary has no [SEP] token")
			}
			out = append(out, t.sep)
		}
	}
	return out, nil
}
