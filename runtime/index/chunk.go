package index

import (
	"bytes"
	"unicode/utf8"
)

// Span is one chunk of a text: bytes [Offset, Offset+Length), lines
// FirstLine..LastLine (from 1).
type Span struct {
	Offset    int64
	Length    int
	FirstLine int
	LastLine  int
}

// piece is a run of one line: a whole line, or part of one longer than a
// chunk.
type piece struct {
	start, end int // bytes, the line break included
	line       int
	heading    bool // a Markdown heading starts here
}

// Split cuts text into chunks of about size bytes (a line is never cut
// unless it is longer than size by itself; then at a space, or anywhere at
// a character boundary), each chunk starting with about overlap bytes of
// whole lines from the end of the one before, so that a sentence cut at a
// chunk's end is found whole in the next. A Markdown heading ("#" at the
// start of a line) ends the chunk before it once that chunk is a third
// full, so chunks follow the sections. Chunks of white space only are left
// out. size < 1 is taken as 1; overlap is at most size/2.
func Split(text []byte, size, overlap int) []Span {
	size = max(size, 1)
	overlap = max(0, min(overlap, size/2))
	pieces := splitPieces(text, size)
	var out []Span
	for i := 0; i < len(pieces); {
		j, n := i, 0
		for j < len(pieces) {
			p := pieces[j]
			l := p.end - p.start
			if j > i && (n+l > size || p.heading && n >= size/3) {
				break
			}
			n += l
			j++
		}
		s := span(text, pieces[i:j])
		if s.Length > 0 {
			out = append(out, s)
		}
		if j >= len(pieces) {
			break
		}
		// The next chunk starts with the last pieces of this one that fit
		// in the overlap, but always after this one's (trimmed) start.
		k, back := j, 0
		for k-1 > i && int64(pieces[k-1].start) > s.Offset && back+(pieces[k-1].end-pieces[k-1].start) <= overlap && !pieces[k].heading {
			k--
			back += pieces[k].end - pieces[k].start
		}
		i = k
	}
	return out
}

// span is the chunk covering ps, white space trimmed at both ends (empty
// if all white space).
func span(text []byte, ps []piece) Span {
	start, end := ps[0].start, ps[len(ps)-1].end
	first := ps[0].line
	for start < end && isSpace(text[start]) {
		if text[start] == '\n' {
			first++
		}
		start++
	}
	for end > start && isSpace(text[end-1]) {
		end--
	}
	if start == end {
		return Span{}
	}
	last := first + bytes.Count(text[start:end], []byte{'\n'})
	return Span{Offset: int64(start), Length: end - start, FirstLine: first, LastLine: last}
}

func isSpace(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' || b == '\v'
}

// splitPieces cuts text into its lines, and the lines longer than size
// into pieces of at most size bytes.
func splitPieces(text []byte, size int) []piece {
	var ps []piece
	line := 1
	for start := 0; start < len(text); line++ {
		end := len(text)
		if i := bytes.IndexByte(text[start:], '\n'); i >= 0 {
			end = start + i + 1
		}
		heading := text[start] == '#'
		for s := start; s < end; {
			e := end
			if e-s > size {
				e = cutAt(text, s, s+size)
			}
			ps = append(ps, piece{start: s, end: e, line: line, heading: heading && s == start})
			s = e
		}
		start = end
	}
	return ps
}

// cutAt returns where to cut text[s:limit] of a too long line: after its
// last space in the second half, else at the last character boundary.
func cutAt(text []byte, s, limit int) int {
	for i := limit; i > s+(limit-s)/2; i-- {
		if text[i-1] == ' ' || text[i-1] == '\t' {
			return i
		}
	}
	for i := limit; i > s; i-- {
		if utf8.RuneStart(text[i]) {
			return i
		}
	}
	return limit
}
