package tokenizer

import (
	"fmt"
	"strings"
)

// A preTokenizer splits text (as code points) into the pieces BPE merges
// within. llama.cpp describes each one as a list of regular expressions
// applied in turn, each splitting every piece the previous ones produced
// into matches and the gaps between them. Go's regexp lacks the lookahead
// some of them need, so each expression is a hand-written scanner here with
// the semantics of llama.cpp's matcher for it: its own scanners for the
// GPT-2 and Llama 3 expressions, std::regex (ECMAScript, leftmost-first
// backtracking) for the rest, where \s is Unicode White_Space and \p{X} a
// Unicode general category.
type preTokenizer struct {
	name   string
	stages []stage

	cleanSpacesOff bool // decoding keeps spaces before punctuation
	ignoreMerges   bool // a pre-token that is a vocabulary entry is one token
	addBOS         bool // the vocabulary adds BOS by default
	noBOS          bool // no BOS token by default
	mergesOptional bool // tokenizer.ggml.merges may be absent (Kimi-K2)
}

// A stage splits one piece c (with flags f[i] = cptFlags(c[i])), appending
// the lengths of its sub-pieces, which cover c, to out.
type stage func(c []rune, f []uint16, out []int) []int

// split returns in *lens the lengths, in code points, of the pre-tokens of
// cpts.
func (p *preTokenizer) split(cpts []rune, lens *[]int) {
	if len(cpts) == 0 {
		*lens = (*lens)[:0]
		return
	}
	f := make([]uint16, len(cpts))
	for i, r := range cpts {
		f[i] = cptFlags(r)
	}
	cur := append((*lens)[:0], len(cpts))
	var next []int
	for _, st := range p.stages {
		next = next[:0]
		pos := 0
		for _, n := range cur {
			next = st(cpts[pos:pos+n], f[pos:pos+n], next)
			pos += n
		}
		cur, next = next, cur
	}
	*lens = cur
}

// The expressions llama.cpp splits with, as it writes them (its
// case-insensitive groups spelled out as [sS] and so on).
const (
	exprQwen2 = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// Qwen3.5: marks join letters.
	exprQwen35     = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	exprSeedCoder  = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+`
	exprBailingMoE = `'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`
	// Llama 3's expression (llama.cpp's own scanner, stageLlama3, is used
	// for it; the expression is kept to test the scanner against).
	exprLlama3 = `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// GPT-2's expression (likewise run by stageGPT2).
	exprGPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`
	// Tekken (Mistral): a word is upper-case letters then lower-case ones, or
	// the reverse; the look-aheads make \p{L} minus [a-z] and minus [A-Z].
	exprTekken = `[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// GPT-4o (o200k): Tekken's words with contractions, digits in threes.
	exprGPT4o   = `[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	exprDigits3 = `\p{N}{1,3}`
	// DeepSeek-V3: CJK ideographs, hiragana and katakana runs (U+4E00..U+9FA5,
	// U+3040..U+309F, U+30A0..U+30FF).
	exprDeepseek3CJK = "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+"
	// DeepSeek-V3 and AFMoE: ASCII punctuation glued to the ASCII word after
	// it, words with marks, punctuation and symbol runs.
	exprDeepseek3Words = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"
	// AFMoE (Arcee Trinity): runs of CJK, kana, Thai, Lao, Khmer, Myanmar and
	// Hangul. (The third range starts at U+F900 in llama.cpp's source: a
	// compatibility ideograph, which NFC-normalising copies turn into U+8C48.)
	exprAFMoECJK = "[\u4e00-\u9fff\u3400-\u4dbf\uf900-\ufaff\u3040-\u309f\u30a0-\u30ff\uff65-\uff9f\u2f00-\u2fdf\u0e40-\u0e7f\u0e80-\u0eff\u1780-\u17ff\u1000-\u109f\uaa60-\uaa7f\ua9e0-\ua9ff\uac00-\ud7af\u1100-\u11ff]+"
)

// Pre-tokenizer definitions by tokenizer.ggml.pre, as llama.cpp maps them.
var (
	preGPT2 = []stage{stageGPT2}
	// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
	preLlama3       = []stage{stageLlama3}
	preQwen2        = []stage{regexStage(exprQwen2)}
	preQwen35       = []stage{regexStage(exprQwen35)}
	preSeedCoder    = []stage{regexStage(exprSeedCoder)}
	preBailingMoE   = []stage{regexStage(exprBailingMoE)}
	preTekken       = []stage{regexStage(exprTekken)}
	preGPT4o        = []stage{regexStage(exprGPT4o)}
	preDeepseek3    = []stage{regexStage(exprDigits3), regexStage(exprDeepseek3CJK), regexStage(exprDeepseek3Words)}
	preAFMoE        = []stage{stageAFMoEDigits, regexStage(exprAFMoECJK), regexStage(exprDeepseek3Words)}
	preKimiK2       = []stage{stageKimiK2}
	preDeepseekLLM  = []stage{matchStage(matchCRLF), matchStage(wsOptRun(isDeepseekLetter)), matchStage(wsOptRun(isDeepseekPunct)), stageTrailingWS, matchStage(classRun(isDeepseekCJK)), matchStage(flagRun(flagNumber))}
	preDeepseekCode = []stage{matchStage(matchCRLF), matchStage(wsOptRun(hasFlag(flagLetter))), matchStage(wsOptRun(hasFlag(flagPunctuation))), matchStage(classRun(isDeepseekCJK)), matchStage(flagOne(flagNumber))}
	preFalcon       = []stage{matchStage(classRun(isPunctOr("$+<=>^~|`"))), stageGPT2, matchStage(matchThreeDigits)}
	preStarcoder    = []stage{matchStage(flagOne(flagNumber)), stageGPT2}
	preDefault      = []stage{matchStage(classRun(isPunctOr("$+<=>^~|"))), stageGPT2, matchStage(flagRun(flagNumber)), matchStage(matchThreeDigits)}
	prePoro         = []stage{matchStage(spaceOptRun(isPoroWord))}
	preViking       = []stage{matchStage(spaceOptRun(isPoroWord)), matchStage(flagOne(flagNumber))}
)

// lookupPre returns the pre-tokenizer for tokenizer.ggml.pre (llama.cpp's
// names; "" means llama.cpp's default, as for old files). A name llama.cpp
// knows but edgeai does not implement is an error naming it, never another
// pre-tokenizer.
func lookupPre(name string) (*preTokenizer, error) {
	p := &preTokenizer{name: name}
	switch name {
	case "", "default":
		p.stages = preDefault
	case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano":
		p.stages, p.ignoreMerges, p.addBOS = preLlama3, true, true
	case "dbrx", "smaug-bpe":
		p.stages = preLlama3
	case "glm4", "chatglm-bpe":
		p.stages, p.noBOS = preLlama3, true
	case "deepseek-llm":
		p.stages, p.cleanSpacesOff = preDeepseekLLM, true
	case "deepseek-coder":
		p.stages, p.cleanSpacesOff = preDeepseekCode, true
	case "deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4":
		p.stages, p.cleanSpacesOff = preDeepseek3, true
	case "falcon":
		p.stages = preFalcon
	case "mpt", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v1-en", "jina-v2-es", "jina-v2-de", "jina-v2-code",
		"roberta-bpe", "olmo", "jais", "exaone4", "a.x-4.0", "mellum", "modern-bert":
		p.stages = preGPT2
	case "trillion", "granite-docling":
		p.stages, p.cleanSpacesOff = preGPT2, true
	case "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2":
		p.stages = preStarcoder
	case "command-r", "smollm":
		p.stages, p.cleanSpacesOff = preStarcoder, true
	case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2":
		p.stages, p.cleanSpacesOff = preQwen2, true
	case "stablelm2", "megrez":
		p.stages = preQwen2
	case "qwen35":
		p.stages, p.cleanSpacesOff = preQwen35, true
	case "seed-coder":
		p.stages, p.cleanSpacesOff = preSeedCoder, true
	case "bailingmoe", "bailingmoe2", "llada-moe":
		p.stages, p.cleanSpacesOff = preBailingMoE, true
	case "tekken":
		p.stages, p.cleanSpacesOff, p.ignoreMerges, p.addBOS = preTekken, true, true, true
	case "gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2":
		p.stages, p.cleanSpacesOff = preGPT4o, true
	case "kimi-k2":
		p.stages, p.cleanSpacesOff, p.mergesOptional = preKimiK2, true, true
	case "afmoe":
		p.stages, p.cleanSpacesOff = preAFMoE, true
	case "poro-chat":
		p.stages, p.cleanSpacesOff = prePoro, true
	case "bloom", "gpt3-finnish":
		p.stages = prePoro
	case "viking":
		p.stages, p.cleanSpacesOff = preViking, true
	default:
		return nil, fmt.Errorf("%w: %s %q is not supported (edgeai implements %s)", ErrVocab, keyPre, name, strings.Join(supportedPre, ", "))
	}
	return p, nil
}

// supportedPre lists the tokenizer.ggml.pre families lookupPre knows, for
// the error message.
var supportedPre = []string{"llama-bpe", "qwen2", "qwen35", "smollm", "lfm2", "gpt-4o", "tekken", "deepseek-v3", "deepseek-llm", "deepseek-coder",
	"kimi-k2", "afmoe", "seed-coder", "bailingmoe", "hunyuan", "dbrx", "glm4", "refact", "starcoder", "falcon", "gpt-2", "olmo", "granite-docling", "exaone4", "poro-chat", "viking", "and their aliases"}

// stageGPT2 is llama.cpp's scanner for GPT-2's expression
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
func stageGPT2(c []rune, f []uint16, out []int) []int {
	n := len(c)
	fl := func(i int) uint16 {
		if i < n {
			return f[i]
		}
		return 0
	}
	start := 0
	emit := func(end int) {
		if end > start {
			out = append(out, end-start)
		}
		start = end
	}
	for pos := 0; pos < n; {
		r := c[pos]
		if r == '\'' && pos+1 < n {
			r1 := c[pos+1]
			if r1 == 's' || r1 == 't' || r1 == 'm' || r1 == 'd' {
				pos += 2
				emit(pos)
				continue
			}
			if pos+2 < n {
				r2 := c[pos+2]
				if (r1 == 'r' && r2 == 'e') || (r1 == 'v' && r2 == 'e') || (r1 == 'l' && r2 == 'l') {
					pos += 3
					emit(pos)
					continue
				}
			}
		}
		f2 := f[pos]
		if r == ' ' {
			f2 = fl(pos + 1)
		}
		if f2&flagLetter != 0 { // ' ?\p{L}+'
			if r == ' ' {
				pos++
			}
			for fl(pos)&flagLetter != 0 {
				pos++
			}
			emit(pos)
			continue
		}
		if f2&flagNumber != 0 { // ' ?\p{N}+'
			if r == ' ' {
				pos++
			}
			for fl(pos)&flagNumber != 0 {
				pos++
			}
			emit(pos)
			continue
		}
		if isOther(f2) { // ' ?[^\s\p{L}\p{N}]+'
			if r == ' ' {
				pos++
			}
			for isOther(fl(pos)) {
				pos++
			}
			emit(pos)
			continue
		}
		k := 0
		for fl(pos+k)&flagWhitespace != 0 {
			k++
		}
		switch {
		case k > 1 && pos+k < n: // '\s+(?!\S)': leave the last space to the next word
			pos += k - 1
		case k > 0: // '\s+'
			pos += k
		default:
			pos++
		}
		emit(pos)
	}
	return out
}

// isOther reports a code point in range that is neither whitespace, letter
// nor number (flags 0 means "past the end of the piece").
func isOther(f uint16) bool {
	return f != 0 && f&(flagWhitespace|flagLetter|flagNumber) == 0
}

// stageLlama3 is llama.cpp's scanner for Llama 3's expression (exprLlama3):
// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
func stageLlama3(c []rune, f []uint16, out []int) []int {
	n := len(c)
	fl := func(i int) uint16 {
		if i < n {
			return f[i]
		}
		return 0
	}
	start := 0
	emit := func(end int) {
		if end > start {
			out = append(out, end-start)
		}
		start = end
	}
	for pos := 0; pos < n; {
		r := c[pos]
		fr := f[pos]
		if r == '\'' && pos+1 < n { // contractions, ASCII case-insensitive
			r1 := lowerASCII(c[pos+1])
			if r1 == 's' || r1 == 't' || r1 == 'm' || r1 == 'd' {
				pos += 2
				emit(pos)
				continue
			}
			if pos+2 < n {
				r2 := lowerASCII(c[pos+2])
				if (r1 == 'r' && r2 == 'e') || (r1 == 'v' && r2 == 'e') || (r1 == 'l' && r2 == 'l') {
					pos += 3
					emit(pos)
					continue
				}
			}
		}
		// '[^\r\n\p{L}\p{N}]?\p{L}+'
		if r != '\r' && r != '\n' && fr&flagNumber == 0 {
			if fr&flagLetter != 0 || fl(pos+1)&flagLetter != 0 {
				pos++
				for fl(pos)&flagLetter != 0 {
					pos++
				}
				emit(pos)
				continue
			}
		}
		// '\p{N}{1,3}'
		if fr&flagNumber != 0 {
			ini := pos
			for fl(pos)&flagNumber != 0 {
				pos++
				if pos-ini >= 3 {
					emit(pos)
					ini = pos
				}
			}
			emit(pos)
			continue
		}
		// ' ?[^\s\p{L}\p{N}]+[\r\n]*'
		f2 := fr
		if r == ' ' {
			f2 = fl(pos + 1)
		}
		if f2&(flagWhitespace|flagLetter|flagNumber) == 0 {
			if r == ' ' {
				pos++
			}
			for isOther(fl(pos)) {
				pos++
			}
			for pos < n && (c[pos] == '\r' || c[pos] == '\n') {
				pos++
			}
			emit(pos)
			continue
		}
		k, lastNL := 0, -1
		for fl(pos+k)&flagWhitespace != 0 {
			if c[pos+k] == '\r' || c[pos+k] == '\n' {
				lastNL = pos + k + 1
			}
			k++
		}
		switch {
		case lastNL >= 0: // '\s*[\r\n]+'
			pos = lastNL
		case k > 1 && pos+k < n: // '\s+(?!\S)'
			pos += k - 1
		case k > 0: // '\s+'
			pos += k
		default:
			pos++
		}
		emit(pos)
	}
	return out
}

// isHan is llama.cpp's unicode_cpt_is_han: the CJK Unified Ideographs
// blocks A to F and the compatibility ideographs.
func isHan(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) ||
		(r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0x2CEB0 && r <= 0x2EBEF) ||
		(r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}

// stageKimiK2 is llama.cpp's scanner for Kimi-K2 (its own code, which is
// not quite Kimi's expression: a word takes upper- and lower-case letters
// alike, so camel case is not split):
//
//	\p{Han}+
//	[^\r\n\p{L}\p{N}]?(letters but Han)+ followed by an optional 's 't 're 've 'm 'll 'd
//	\p{N}{1,3}
//	 ?[^\s\p{L}\p{N}]+[\r\n]*
//	\s*[\r\n]+ | \s+(?!\S) | \s+
func stageKimiK2(c []rune, f []uint16, out []int) []int {
	n := len(c)
	fl := func(i int) uint16 {
		if i < n {
			return f[i]
		}
		return 0
	}
	han := func(i int) bool { return i < n && isHan(c[i]) }
	word := func(i int) bool { return fl(i)&flagLetter != 0 && !han(i) }
	start := 0
	emit := func(end int) {
		if end > start {
			out = append(out, end-start)
		}
		start = end
	}
	for pos := 0; pos < n; {
		r, fr := c[pos], f[pos]
		if han(pos) {
			for han(pos) {
				pos++
			}
			emit(pos)
			continue
		}
		lead := r != '\r' && r != '\n' && fr&(flagLetter|flagNumber) == 0
		if word(pos) || (lead && word(pos+1)) {
			if lead {
				pos++
			}
			for word(pos) {
				pos++
			}
			if pos+1 < n && c[pos] == '\'' { // optional contraction
				r1 := lowerASCII(c[pos+1])
				switch {
				case r1 == 's' || r1 == 't' || r1 == 'm' || r1 == 'd':
					pos += 2
				case pos+2 < n:
					r2 := lowerASCII(c[pos+2])
					if (r1 == 'r' && r2 == 'e') || (r1 == 'v' && r2 == 'e') || (r1 == 'l' && r2 == 'l') {
						pos += 3
					}
				}
			}
			emit(pos)
			continue
		}
		if fr&flagNumber != 0 { // \p{N}{1,3}
			ini := pos
			for fl(pos)&flagNumber != 0 {
				pos++
				if pos-ini >= 3 {
					emit(pos)
					ini = pos
				}
			}
			emit(pos)
			continue
		}
		f2 := fr
		if r == ' ' {
			f2 = fl(pos + 1)
		}
		if isOther(f2) { // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
			if r == ' ' {
				pos++
			}
			for isOther(fl(pos)) {
				pos++
			}
			for pos < n && (c[pos] == '\r' || c[pos] == '\n') {
				pos++
			}
			emit(pos)
			continue
		}
		pos = whitespaceRun(c, f, pos)
		emit(pos)
	}
	return out
}

// whitespaceRun ends the match at c[pos] of \s*[\r\n]+|\s+(?!\S)|\s+, or
// takes one code point if none of them matches.
func whitespaceRun(c []rune, f []uint16, pos int) int {
	n := len(c)
	k, lastNL := 0, -1
	for pos+k < n && f[pos+k]&flagWhitespace != 0 {
		if c[pos+k] == '\r' || c[pos+k] == '\n' {
			lastNL = pos + k + 1
		}
		k++
	}
	switch {
	case lastNL >= 0: // '\s*[\r\n]+'
		return lastNL
	case k > 1 && pos+k < n: // '\s+(?!\S)'
		return pos + k - 1
	case k > 0: // '\s+'
		return pos + k
	}
	return pos + 1
}

// stageAFMoEDigits is llama.cpp's scanner for AFMoE's digits: each run of
// \p{N} is cut into groups of three counted from its end (a first group of
// one or two, then threes); the text before a run stays with the first
// group, and the text after the last run is one piece.
func stageAFMoEDigits(c []rune, f []uint16, out []int) []int {
	n := len(c)
	start := 0
	emit := func(end int) {
		if end > start {
			out = append(out, end-start)
		}
		start = end
	}
	for pos := 0; pos < n; {
		if f[pos]&flagNumber == 0 {
			pos++
			continue
		}
		run := pos
		for pos < n && f[pos]&flagNumber != 0 {
			pos++
		}
		cur := run
		if rem := (pos - run) % 3; rem > 0 {
			cur += rem
			emit(cur)
		}
		for cur < pos {
			cur += 3
			emit(cur)
		}
	}
	emit(n)
	return out
}

func lowerASCII(r rune) rune {
	if r >= 'A' && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}

// A matcher returns the length of the match of an expression at c[i:] (0 if
// none); no expression here matches the empty string.
type matcher func(c []rune, f []uint16, i int) int

// matchStage splits a piece into leftmost-first, non-overlapping matches
// and the gaps between them (llama.cpp's std::regex path).
func matchStage(m matcher) stage {
	return func(c []rune, f []uint16, out []int) []int {
		gap := 0
		for i := 0; i < len(c); {
			k := m(c, f, i)
			if k == 0 {
				i++
				continue
			}
			if i > gap {
				out = append(out, i-gap)
			}
			out = append(out, k)
			i += k
			gap = i
		}
		if gap < len(c) {
			out = append(out, len(c)-gap)
		}
		return out
	}
}

// stageTrailingWS is '\s+$': the whitespace run ending the piece.
func stageTrailingWS(c []rune, f []uint16, out []int) []int {
	t := len(c)
	for t > 0 && f[t-1]&flagWhitespace != 0 {
		t--
	}
	if t > 0 {
		out = append(out, t)
	}
	if t < len(c) {
		out = append(out, len(c)-t)
	}
	return out
}

// matchCRLF is '[\r\n]'.
func matchCRLF(c []rune, _ []uint16, i int) int {
	if c[i] == '\r' || c[i] == '\n' {
		return 1
	}
	return 0
}

// matchThreeDigits is '[0-9][0-9][0-9]'.
func matchThreeDigits(c []rune, _ []uint16, i int) int {
	if i+3 <= len(c) && isDigit(c[i]) && isDigit(c[i+1]) && isDigit(c[i+2]) {
		return 3
	}
	return 0
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// A class tells whether c[i] belongs to a character class.
type class func(r rune, f uint16) bool

func hasFlag(flag uint16) class {
	return func(_ rune, f uint16) bool { return f&flag != 0 }
}

// classRun is 'CLASS+'.
func classRun(in class) matcher {
	return func(c []rune, f []uint16, i int) int {
		j := i
		for j < len(c) && in(c[j], f[j]) {
			j++
		}
		return j - i
	}
}

// flagRun is '\p{X}+'.
func flagRun(flag uint16) matcher { return classRun(hasFlag(flag)) }

// flagOne is '\p{X}'.
func flagOne(flag uint16) matcher {
	return func(_ []rune, f []uint16, i int) int {
		if f[i]&flag != 0 {
			return 1
		}
		return 0
	}
}

// wsOptRun is '\s?CLASS+' for a class without whitespace.
func wsOptRun(in class) matcher {
	run := classRun(in)
	return func(c []rune, f []uint16, i int) int {
		if f[i]&flagWhitespace != 0 {
			if i+1 < len(c) && in(c[i+1], f[i+1]) {
				return 1 + run(c, f, i+1)
			}
			return 0
		}
		return run(c, f, i)
	}
}

// spaceOptRun is ' ?CLASS+' for a class without whitespace.
func spaceOptRun(in class) matcher {
	run := classRun(in)
	return func(c []rune, f []uint16, i int) int {
		if c[i] == ' ' {
			if i+1 < len(c) && in(c[i+1], f[i+1]) {
				return 1 + run(c, f, i+1)
			}
			return 0
		}
		return run(c, f, i)
	}
}

// isPunctOr is '[\p{P}...]' with the extra ASCII characters in extra.
func isPunctOr(extra string) class {
	var set [128]bool
	for _, b := range []byte(extra) {
		set[b] = true
	}
	return func(r rune, f uint16) bool {
		return f&flagPunctuation != 0 || (r >= 0 && r < 128 && set[r])
	}
}

// rangeClass is a character class of literal ranges matched by std::wregex,
// to which llama.cpp hands non-ASCII whitespace as U+000B: such code points
// never match.
func rangeClass(ranges [][2]rune) class {
	return func(r rune, f uint16) bool {
		if r > 0x7F && f&flagWhitespace != 0 {
			return false
		}
		for _, rg := range ranges {
			if r >= rg[0] && r <= rg[1] {
				return true
			}
		}
		return false
	}
}

// DeepSeek-LLM's classes, from its tokenizer.json expressions.
var (
	isDeepseekLetter = rangeClass([][2]rune{
		{0x0041, 0x005A}, {0x0061, 0x007A}, {0x00B5, 0x00B5}, {0x00C0, 0x00D6}, {0x00D8, 0x00F6},
		{0x00F8, 0x01BA}, {0x01BC, 0x01BF}, {0x01C4, 0x0293}, {0x0295, 0x02AF}, {0x0370, 0x0373},
		{0x0376, 0x0377}, {0x037B, 0x037D}, {0x037F, 0x037F}, {0x0386, 0x0386}, {0x0388, 0x038A},
		{0x038C, 0x038C}, {0x038E, 0x03A1}, {0x03A3, 0x03F5}, {0x03F7, 0x0481}, {0x048A, 0x052F},
		{0x0531, 0x0556}, {0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD}, {0x1C90, 0x1CBA},
		{0x1CBD, 0x1CBF}, {0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A}, {0x1E00, 0x1F15},
		{0x1F18, 0x1F1D}, {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59},
		{0x1F5B, 0x1F5B}, {0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC},
		{0x1FBE, 0x1FBE}, {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC}, {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB},
		{0x1FE0, 0x1FEC}, {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2102, 0x2102}, {0x2107, 0x2107},
		{0x210A, 0x2113}, {0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124}, {0x2126, 0x2126},
		{0x2128, 0x2128}, {0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139}, {0x213C, 0x213F},
		{0x2145, 0x2149}, {0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B}, {0x2C7E, 0x2CE4},
		{0x2CEB, 0x2CEE}, {0x2CF2, 0x2CF3}, {0xA640, 0xA66D}, {0xA680, 0xA69B}, {0xA722, 0xA76F},
		{0xA771, 0xA787}, {0xA78B, 0xA78E}, {0xAB70, 0xABBF}, {0xFB00, 0xFB06}, {0xFB13, 0xFB17},
		{0xFF21, 0xFF3A}, {0xFF41, 0xFF5A}, {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
		{0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
	})
	isDeepseekPunct = rangeClass([][2]rune{
		{0x0021, 0x002F}, {0x003A, 0x007E}, {0xFF01, 0xFF0F}, {0xFF1A, 0xFF5E}, {0x2018, 0x201F}, {0x3000, 0x3002},
	})
	isDeepseekCJK = rangeClass([][2]rune{{0x4E00, 0x9FA5}, {0x0800, 0x4E00}, {0xAC00, 0xD7FF}})
)

// isPoroWord is '[^(\s|.,!?…。，、।۔،)]' (the parentheses and bar are part of
// the class).
func isPoroWord(r rune, f uint16) bool {
	if f&flagWhitespace != 0 {
		return false
	}
	switch r {
	case '(', '|', '.', ',', '!', '?', '…', '。', '，', '、', '।', '۔', '،', ')':
		return false
	}
	return true
}
