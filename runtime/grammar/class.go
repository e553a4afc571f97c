package grammar

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// cpRange is an inclusive range of code points.
type cpRange struct{ lo, hi rune }

// surrogates are code points UTF-8 cannot encode; no class contains them.
const surrLo, surrHi = 0xD800, 0xDFFF

// normalize sorts and merges ranges and removes the surrogates.
func normalize(rs []cpRange) []cpRange {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b cpRange) int { return int(a.lo) - int(b.lo) })
	var out []cpRange
	for _, r := range rs {
		if n := len(out); n > 0 && r.lo <= out[n-1].hi+1 {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	// cut the surrogates out
	var res []cpRange
	for _, r := range out {
		if r.hi < surrLo || r.lo > surrHi {
			res = append(res, r)
			continue
		}
		if r.lo < surrLo {
			res = append(res, cpRange{r.lo, surrLo - 1})
		}
		if r.hi > surrHi {
			res = append(res, cpRange{surrHi + 1, r.hi})
		}
	}
	return res
}

// complement returns the scalar values not in the normalized ranges rs.
func complement(rs []cpRange) []cpRange {
	var out []cpRange
	next := rune(0)
	for _, r := range rs {
		if r.lo > next {
			out = append(out, cpRange{next, r.lo - 1})
		}
		next = r.hi + 1
	}
	if next <= utf8.MaxRune {
		out = append(out, cpRange{next, utf8.MaxRune})
	}
	return normalize(out)
}

// allRunes is every Unicode scalar value ("." in GBNF).
func allRunes() []cpRange { return complement(nil) }

// intersect returns the code points in both normalized range lists.
func intersect(a, b []cpRange) []cpRange {
	var out []cpRange
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		lo, hi := max(a[i].lo, b[j].lo), min(a[i].hi, b[j].hi)
		if lo <= hi {
			out = append(out, cpRange{lo, hi})
		}
		if a[i].hi < b[j].hi {
			i++
		} else {
			j++
		}
	}
	return out
}

// subtract returns the code points of a not in b.
func subtract(a, b []cpRange) []cpRange { return intersect(a, complement(b)) }

// contains reports whether the normalized ranges hold r.
func contains(rs []cpRange, r rune) bool {
	i, found := slices.BinarySearchFunc(rs, r, func(x cpRange, r rune) int {
		switch {
		case x.hi < r:
			return -1
		case x.lo > r:
			return 1
		}
		return 0
	})
	_ = i
	return found
}

// classGBNF writes normalized ranges as a GBNF character class.
func classGBNF(rs []cpRange) string {
	var b strings.Builder
	b.WriteByte('[')
	for _, r := range rs {
		b.WriteString(classChar(r.lo))
		if r.hi > r.lo {
			if r.hi > r.lo+1 {
				b.WriteByte('-')
			}
			b.WriteString(classChar(r.hi))
		}
	}
	b.WriteByte(']')
	return b.String()
}

// classChar escapes a code point for a GBNF class or literal.
func classChar(r rune) string {
	switch r {
	case '\\', ']', '[', '"':
		return `\` + string(r)
	case '-', '^':
		return `\x` + hex2(int(r))
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	}
	switch {
	case r < 0x20 || r == 0x7F:
		return `\x` + hex2(int(r))
	case r > 0x7F && !unicode.IsGraphic(r):
		if r > 0xFFFF {
			return fmt.Sprintf(`\U%08X`, r)
		}
		return fmt.Sprintf(`\u%04X`, r)
	}
	return string(r)
}

func hex2(v int) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[v>>4&15], digits[v&15]})
}

// leadRange returns the code points whose encoding starts with byte b, and
// the number of continuation bytes that follow; ok is false for bytes that
// start no encoding (continuation bytes, C0, C1, F5-FF).
func leadRange(b int) (r cpRange, cont int, ok bool) {
	switch {
	case b < 0x80:
		return cpRange{rune(b), rune(b)}, 0, true
	case b >= 0xC2 && b <= 0xDF:
		lo := rune(b&0x1F) << 6
		return cpRange{lo, lo | 0x3F}, 1, true
	case b >= 0xE0 && b <= 0xEF:
		lo := rune(b&0x0F) << 12
		r := cpRange{max(lo, 0x800), lo | 0xFFF}
		return r, 2, true
	case b >= 0xF0 && b <= 0xF4:
		lo := rune(b&0x07) << 18
		r := cpRange{max(lo, 0x10000), min(lo|0x3FFFF, utf8.MaxRune)}
		return r, 3, true
	}
	return cpRange{}, 0, false
}
