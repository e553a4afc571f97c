package main

import (
	"fmt"
	"strings"
)

// Reg is a vector register (X, Y or Z) or a general register, by name and
// number (for the VEX encodings written as bytes).
type Reg struct {
	Name string
	N    int
}

func (r Reg) String() string { return r.Name }

// X, Y and Z name vector registers of 128, 256 and 512 bits.
func X(n int) Reg { return Reg{fmt.Sprintf("X%d", n), n} }
func Y(n int) Reg { return Reg{fmt.Sprintf("Y%d", n), n} }
func Z(n int) Reg { return Reg{fmt.Sprintf("Z%d", n), n} }

// gprs numbers the general registers as the instruction encodings do.
var gprs = map[string]int{"AX": 0, "CX": 1, "DX": 2, "BX": 3, "SP": 4, "BP": 5, "SI": 6, "DI": 7,
	"R8": 8, "R9": 9, "R10": 10, "R11": 11, "R12": 12, "R13": 13, "R14": 14, "R15": 15}

// Mem is the memory operand off(base).
type Mem struct {
	Off  int
	Base string
}

func (m Mem) String() string { return fmt.Sprintf("%d(%s)", m.Off, m.Base) }

// M returns the operand off(base).
func M(off int, base string) Mem { return Mem{off, base} }

// Add returns m moved by d bytes.
func (m Mem) Add(d int) Mem { return Mem{m.Off + d, m.Base} }

// G accumulates the text of an assembly file.
type G struct{ b strings.Builder }

// I writes one instruction (format and operands in Go assembler order).
func (g *G) I(format string, args ...any) { fmt.Fprintf(&g.b, "\t"+format+"\n", args...) }

// C writes a comment line inside a function.
func (g *G) C(format string, args ...any) { fmt.Fprintf(&g.b, "\t// "+format+"\n", args...) }

// L writes a label.
func (g *G) L(name string) { fmt.Fprintf(&g.b, "%s:\n", name) }

// Raw writes text as it is.
func (g *G) Raw(s string) { g.b.WriteString(s) }

// Doc writes a comment block: paragraphs (separated by blank lines) are
// filled to 76 columns, except lines starting with "func " or a tab.
func (g *G) Doc(text string) {
	for i, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if i > 0 {
			g.b.WriteString("//\n")
		}
		var line string
		flush := func() {
			if line != "" {
				g.b.WriteString("// " + line + "\n")
				line = ""
			}
		}
		for _, l := range strings.Split(para, "\n") {
			if strings.HasPrefix(l, "func ") || strings.HasPrefix(l, "\t") {
				flush()
				g.b.WriteString("// " + l + "\n")
				continue
			}
			for _, w := range strings.Fields(l) {
				if line != "" && len(line)+1+len(w) > 76 {
					flush()
				}
				if line != "" {
					line += " "
				}
				line += w
			}
		}
		flush()
	}
}

// vex writes the VEX.256 form of a 66.0F38 W0 instruction (opcode op:
// 0x50 VPDPBUSD, 0x52 VPDPWSSD, the AVX-VNNI forms, which the Go
// assembler lacks: it knows only their EVEX encodings, which need
// AVX-512 VL) as BYTE directives, the mnemonic in a comment: dst, src1
// (vvvv) and src2 (a register or off(base), as ModRM r/m).
func (g *G) vex(op byte, mnem string, src2 any, src1, dst Reg) {
	var bb []byte
	r := dst.N >> 3
	var b, modrm int
	var tail []byte
	switch s := src2.(type) {
	case Reg:
		b = s.N >> 3
		modrm = 0xC0 | (dst.N&7)<<3 | s.N&7
	case Mem:
		bn, ok := gprs[s.Base]
		if !ok {
			panic("vex: base " + s.Base)
		}
		b = bn >> 3
		var mod int
		switch {
		case s.Off == 0 && bn&7 != 5:
			mod = 0
		case s.Off >= -128 && s.Off < 128:
			mod = 1
			tail = append(tail, byte(int8(s.Off)))
		default:
			mod = 2
			tail = append(tail, byte(s.Off), byte(s.Off>>8), byte(s.Off>>16), byte(s.Off>>24))
		}
		modrm = mod<<6 | (dst.N&7)<<3 | bn&7
		if bn&7 == 4 { // SIB: no index, base
			tail = append([]byte{0x24}, tail...)
		}
	default:
		panic("vex: operand")
	}
	bb = append(bb, 0xC4, byte(0xE2^r<<7^b<<5), byte((15-src1.N)<<3|0x05), op, byte(modrm))
	bb = append(bb, tail...)
	var parts []string
	for _, x := range bb {
		parts = append(parts, fmt.Sprintf("BYTE $0x%02x", x))
	}
	g.I("%s // %s %v, %v, %v", strings.Join(parts, "; "), mnem, src2, src1, dst)
}

// DPBUSD adds to acc the dword sums of the products of the unsigned bytes
// of u and the signed bytes of s: VPDPBUSD, VEX-encoded for Y registers,
// EVEX (the assembler's) for Z.
func (g *G) DPBUSD(s any, u, acc Reg) {
	if acc.Name[0] == 'Z' {
		g.I("VPDPBUSD %v, %v, %v", s, u, acc)
		return
	}
	g.vex(0x50, "VPDPBUSD", s, u, acc)
}

// DPWSSD adds to acc the dword sums of the products of the signed words of
// x and y (VPDPWSSD, VEX for Y, EVEX for Z).
func (g *G) DPWSSD(y any, x, acc Reg) {
	if acc.Name[0] == 'Z' {
		g.I("VPDPWSSD %v, %v, %v", y, x, acc)
		return
	}
	g.vex(0x52, "VPDPWSSD", y, x, acc)
}

// variant is one amd64 path a generated kernel is written for.
type variant struct {
	suffix string // of the function names
	vnni   bool   // VPDPBUSD / VPDPWSSD (AVX-VNNI) instead of VPMADDUBSW and VPMADDWD
}

var (
	vAVX2    = variant{"AVX2", false}
	vAVXVNNI = variant{"AVXVNNI", true}
)

// hsum8 adds the eight float32 lanes of y (its X register x) into the
// lowest lane of t in ggml's order ((l0+l4)+(l2+l6))+((l1+l5)+(l3+l7)),
// clobbering u.
func (g *G) hsum8(y, x, t, u Reg) {
	g.I("VEXTRACTF128 $1, %v, %v", y, t)
	g.I("VADDPS %v, %v, %v", t, x, t)
	g.I("VMOVHLPS %v, %v, %v", t, t, u)
	g.I("VADDPS %v, %v, %v", u, t, t)
	g.I("VMOVSHDUP %v, %v", t, u)
	g.I("VADDSS %v, %v, %v", u, t, t)
}

// f16bcast broadcasts the fp16 value at m, as float32, to every lane of y
// (x its X register), clobbering AX.
func (g *G) f16bcast(m Mem, x, y Reg) {
	g.I("MOVWLZX %v, AX", m)
	g.I("VMOVD AX, %v", x)
	g.I("VCVTPH2PS %v, %v", x, x)
	g.I("VBROADCASTSS %v, %v", x, y)
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
