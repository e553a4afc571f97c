package tokenizer

import (
	"sort"
	"unicode"
)

// Code point classes, one per code point (llama.cpp's unicode_cpt_flags
// categories), plus the White_Space property as a separate bit.
const (
	flagUndefined   uint16 = 1 << 0 // Cn, or beyond U+10FFFF
	flagNumber      uint16 = 1 << 1 // \p{N}
	flagLetter      uint16 = 1 << 2 // \p{L}
	flagSeparator   uint16 = 1 << 3 // \p{Z}
	flagMark        uint16 = 1 << 4 // \p{M}
	flagPunctuation uint16 = 1 << 5 // \p{P}
	flagSymbol      uint16 = 1 << 6 // \p{S}
	flagControl     uint16 = 1 << 7 // \p{C}: Cc, Cf, Co, Cs
	flagWhitespace  uint16 = 1 << 8 // \s: Unicode White_Space
)

// asciiFlags caches cptFlags for U+0000..U+007F.
var asciiFlags = func() (t [128]uint16) {
	for r := range t {
		t[r] = computeFlags(rune(r))
	}
	return t
}()

// cptFlags returns the category flags of r. Categories come from Go's
// unicode tables (Unicode 15.0) plus the few Unicode 15.1 additions that
// llama.cpp's tables (15.1) know, so both classify every code point alike.
func cptFlags(r rune) uint16 {
	if r >= 0 && r < 128 {
		return asciiFlags[r]
	}
	return computeFlags(r)
}

func computeFlags(r rune) uint16 {
	var f uint16
	switch {
	case r < 0 || r > unicode.MaxRune:
		return flagUndefined
	case unicode.IsLetter(r):
		f = flagLetter
	case unicode.IsNumber(r):
		f = flagNumber
	case unicode.IsPunct(r):
		f = flagPunctuation
	case unicode.IsMark(r):
		f = flagMark
	case unicode.IsSymbol(r):
		f = flagSymbol
	case unicode.In(r, unicode.Z):
		f = flagSeparator
	case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs):
		f = flagControl
	default:
		f = unicode151(r)
	}
	if unicode.Is(unicode.White_Space, r) {
		f |= flagWhitespace
	}
	return f
}

// unicode151 classifies the code points Unicode 15.1 assigned (Go's tables
// are 15.0): IDEOGRAPHIC DESCRIPTION CHARACTERs U+2FFC..U+2FFF and U+31EF
// (So) and CJK Unified Ideographs Extension I U+2EBF0..U+2EE5D (Lo).
func unicode151(r rune) uint16 {
	switch {
	case r >= 0x2FFC && r <= 0x2FFF, r == 0x31EF:
		return flagSymbol
	case r >= 0x2EBF0 && r <= 0x2EE5D:
		return flagLetter
	}
	return flagUndefined
}

// nfdFirstOf returns the first code point of r's canonical decomposition
// (r itself if it has none): llama.cpp's unicode_cpts_normalize_nfd.
func nfdFirstOf(r rune) rune {
	if r < 0xC0 {
		return r
	}
	i := sort.Search(len(nfdFirst), func(i int) bool { return nfdFirst[i].hi >= r })
	if i < len(nfdFirst) && nfdFirst[i].lo <= r {
		return nfdFirst[i].to
	}
	return r
}

// utf8Len returns the length llama.cpp assumes for a UTF-8 sequence starting
// with byte b (from its top four bits; continuation bytes count as 1).
func utf8Len(b byte) int {
	switch {
	case b < 0xC0:
		return 1
	case b < 0xE0:
		return 2
	case b < 0xF0:
		return 3
	}
	return 4
}

// decodeCpts decodes s into code points as llama.cpp's
// unicode_cpts_from_utf8 does: leniently (overlong forms and surrogates are
// accepted), with each byte that starts no complete sequence becoming
// U+FFFD. Sequences above U+10FFFF, which llama.cpp cannot re-encode, also
// become U+FFFD (one per byte).
func decodeCpts(s string, dst []rune) []rune {
	for i := 0; i < len(s); {
		r, n := decodeLenient(s, i)
		dst = append(dst, r)
		i += n
	}
	return dst
}

// decodeLenient decodes one code point of s at i, returning U+FFFD and 1 for
// a byte that starts no complete sequence.
func decodeLenient(s string, i int) (rune, int) {
	const bad = unicode.ReplacementChar
	b := s[i]
	cont := func(j int) bool { return j < len(s) && s[j]&0xC0 == 0x80 }
	switch {
	case b < 0x80:
		return rune(b), 1
	case b < 0xC0:
		return bad, 1
	case b < 0xE0:
		if !cont(i + 1) {
			return bad, 1
		}
		return rune(b&0x1F)<<6 | rune(s[i+1]&0x3F), 2
	case b < 0xF0:
		if !cont(i+1) || !cont(i+2) {
			return bad, 1
		}
		return rune(b&0x0F)<<12 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F), 3
	case b < 0xF8:
		if !cont(i+1) || !cont(i+2) || !cont(i+3) {
			return bad, 1
		}
		r := rune(b&0x07)<<18 | rune(s[i+1]&0x3F)<<12 | rune(s[i+2]&0x3F)<<6 | rune(s[i+3]&0x3F)
		if r > unicode.MaxRune {
			return bad, 1
		}
		return r, 4
	}
	return bad, 1
}

// appendCpt appends the UTF-8 encoding of r as llama.cpp's
// unicode_cpt_to_utf8 does: surrogates are encoded like any other code point
// (Go's utf8 package would write U+FFFD).
func appendCpt(dst []byte, r rune) []byte {
	switch {
	case r < 0:
		return append(dst, 0xEF, 0xBF, 0xBD)
	case r < 0x80:
		return append(dst, byte(r))
	case r < 0x800:
		return append(dst, 0xC0|byte(r>>6), 0x80|byte(r)&0x3F)
	case r < 0x10000:
		return append(dst, 0xE0|byte(r>>12), 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F)
	case r <= unicode.MaxRune:
		return append(dst, 0xF0|byte(r>>18), 0x80|byte(r>>12)&0x3F, 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F)
	}
	return append(dst, 0xEF, 0xBF, 0xBD)
}

// isCSpace is C's isspace in the "C" locale.
func isCSpace(b byte) bool {
	return b == ' ' || (b >= '\t' && b <= '\r')
}
