package tokenizer

import (
	"encoding/binary"
	"fmt"
	"math"
)

// A sentencepiece model file (tokenizer.model, spiece.model,
// sentencepiece.bpe.model) is a serialized protobuf ModelProto
// (sentencepiece_model.proto). parseSentencePiece reads the fields a
// Unigram tokenizer needs and skips the rest; every length is checked
// against the bytes left, so a hostile file costs at most its own size.

// spPiece is ModelProto.SentencePiece.
type spPiece struct {
	piece string
	score float32
	typ   int32 // 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
}

// spModel is the part of ModelProto edgeai reads.
type spModel struct {
	pieces []spPiece // field 1

	// TrainerSpec (field 2).
	modelType       int32 // 3: 1 unigram, 2 BPE, 3 word, 4 char
	treatWSAsSuffix bool  // 24
	byteFallback    bool  // 35
	unkID           int32 // 40
	bosID           int32 // 41
	eosID           int32 // 42
	padID           int32 // 43

	// NormalizerSpec (field 3).
	normName       string // 1
	charsmap       []byte // 2: precompiled_charsmap
	addDummyPrefix bool   // 3
	removeExtraWS  bool   // 4
	escapeWS       bool   // 5
}

// Sentencepiece's model types.
const (
	spUnigram = 1
	spBPE     = 2
)

// pbReader reads protobuf wire format from a byte slice.
type pbReader struct {
	b   []byte
	err error
}

func (r *pbReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

func (r *pbReader) varint() uint64 {
	var v uint64
	for i := 0; i < 10; i++ {
		if len(r.b) == 0 {
			r.fail("truncated varint")
			return 0
		}
		c := r.b[0]
		r.b = r.b[1:]
		if i == 9 && c > 1 {
			r.fail("varint overflows 64 bits")
			return 0
		}
		v |= uint64(c&0x7F) << (7 * i)
		if c < 0x80 {
			return v
		}
	}
	return v
}

// field reads a key, returning the field number and wire type; ok is false
// at the end of the message or on error.
func (r *pbReader) field() (num int, wire int, ok bool) {
	if r.err != nil || len(r.b) == 0 {
		return 0, 0, false
	}
	k := r.varint()
	num, wire = int(k>>3), int(k&7)
	if r.err == nil && (num == 0 || k>>3 > math.MaxInt32) {
		r.fail("bad field number %d", k>>3)
	}
	return num, wire, r.err == nil
}

func (r *pbReader) bytes() []byte {
	n := r.varint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.fail("a field of %d bytes with %d left", n, len(r.b))
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *pbReader) fixed32() uint32 {
	if len(r.b) < 4 {
		r.fail("truncated fixed32")
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

// skip skips a value of the given wire type.
func (r *pbReader) skip(wire int) {
	switch wire {
	case 0:
		r.varint()
	case 1:
		if len(r.b) < 8 {
			r.fail("truncated fixed64")
			return
		}
		r.b = r.b[8:]
	case 2:
		r.bytes()
	case 5:
		r.fixed32()
	default:
		r.fail("wire type %d is not supported", wire)
	}
}

// expect checks that a field has the wire type its schema gives it.
func (r *pbReader) expect(num, wire, want int) bool {
	if wire != want {
		r.fail("field %d has wire type %d, want %d", num, wire, want)
		return false
	}
	return true
}

func (r *pbReader) int32v() int32 { return int32(r.varint()) }

func (r *pbReader) boolv() bool { return r.varint() != 0 }

// parseSentencePiece parses a serialized ModelProto.
func parseSentencePiece(data []byte) (*spModel, error) {
	m := &spModel{
		modelType: spUnigram, unkID: 0, bosID: 1, eosID: 2, padID: -1,
		addDummyPrefix: true, removeExtraWS: true, escapeWS: true,
	}
	r := &pbReader{b: data}
	for {
		num, wire, ok := r.field()
		if !ok {
			break
		}
		switch num {
		case 1:
			if r.expect(num, wire, 2) {
				if len(m.pieces) >= maxHFVocab {
					r.fail("more than %d pieces", maxHFVocab)
					break
				}
				m.pieces = append(m.pieces, parsePiece(r, r.bytes()))
			}
		case 2:
			if r.expect(num, wire, 2) {
				m.parseTrainer(r, r.bytes())
			}
		case 3:
			if r.expect(num, wire, 2) {
				m.parseNormalizer(r, r.bytes())
			}
		default:
			r.skip(wire)
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: sentencepiece model: %v", ErrVocab, r.err)
	}
	if len(m.pieces) == 0 {
		return nil, fmt.Errorf("%w: sentencepiece model: no pieces", ErrVocab)
	}
	return m, nil
}

func parsePiece(outer *pbReader, b []byte) spPiece {
	p := spPiece{typ: typeNormal}
	r := &pbReader{b: b}
	for {
		num, wire, ok := r.field()
		if !ok {
			break
		}
		switch {
		case num == 1 && r.expect(num, wire, 2):
			p.piece = string(r.bytes())
		case num == 2 && r.expect(num, wire, 5):
			p.score = math.Float32frombits(r.fixed32())
		case num == 3 && r.expect(num, wire, 0):
			p.typ = r.int32v()
		case num > 3:
			r.skip(wire)
		}
	}
	if r.err != nil {
		outer.fail("piece %q: %v", p.piece, r.err)
	}
	return p
}

func (m *spModel) parseTrainer(outer *pbReader, b []byte) {
	r := &pbReader{b: b}
	for {
		num, wire, ok := r.field()
		if !ok {
			break
		}
		var dst *int32
		var flag *bool
		switch num {
		case 3:
			dst = &m.modelType
		case 40:
			dst = &m.unkID
		case 41:
			dst = &m.bosID
		case 42:
			dst = &m.eosID
		case 43:
			dst = &m.padID
		case 24:
			flag = &m.treatWSAsSuffix
		case 35:
			flag = &m.byteFallback
		default:
			r.skip(wire)
			continue
		}
		if !r.expect(num, wire, 0) {
			break
		}
		if dst != nil {
			*dst = r.int32v()
		} else {
			*flag = r.boolv()
		}
	}
	if r.err != nil {
		outer.fail("trainer_spec: %v", r.err)
	}
}

func (m *spModel) parseNormalizer(outer *pbReader, b []byte) {
	r := &pbReader{b: b}
	for {
		num, wire, ok := r.field()
		if !ok {
			break
		}
		switch num {
		case 1:
			if r.expect(num, wire, 2) {
				m.normName = string(r.bytes())
			}
		case 2:
			if r.expect(num, wire, 2) {
				m.charsmap = r.bytes()
			}
		case 3, 4, 5:
			if r.expect(num, wire, 0) {
				v := r.boolv()
				switch num {
				case 3:
					m.addDummyPrefix = v
				case 4:
					m.removeExtraWS = v
				case 5:
					m.escapeWS = v
				}
			}
		default:
			r.skip(wire)
		}
	}
	if r.err != nil {
		outer.fail("normalizer_spec: %v", r.err)
	}
}

// FromSentencePiece builds the tokenizer of a sentencepiece Unigram model
// file (the protobuf beside a T5 or XLM-R export), as llama.cpp's converter
// would write it into a GGUF ("t5" vocabulary) and llama.cpp would run it.
//
// With fairseq false the ids are the model's own (T5: EOS appended, no BOS).
// With fairseq true they follow the fairseq convention XLM-R models use with
// sentencepiece.bpe.model: <s> 0, <pad> 1, </s> 2, <unk> 3, then every
// piece after the model's first three shifted up by one, and <mask> last;
// texts are wrapped as <s> … </s>.
//
// Only Unigram models are read. Sentencepiece's byte fallback is not
// applied: as in llama.cpp, a character no piece covers is the unknown
// token.
func FromSentencePiece(data []byte, fairseq bool) (*Tokenizer, error) {
	m, err := parseSentencePiece(data)
	if err != nil {
		return nil, err
	}
	md, err := m.metadata(fairseq)
	if err != nil {
		return nil, err
	}
	return fromMetadata(md)
}

// metadata returns the GGUF keys llama.cpp's converter writes for the model.
func (m *spModel) metadata(fairseq bool) (hfMeta, error) {
	switch {
	case m.modelType != spUnigram:
		return nil, fmt.Errorf("%w: sentencepiece model type %d is not supported (edgeai reads Unigram models, type 1; use the model's GGUF)", ErrVocab, m.modelType)
	case m.treatWSAsSuffix:
		return nil, fmt.Errorf("%w: sentencepiece model: treat_whitespace_as_suffix is not supported", ErrVocab)
	case !m.escapeWS:
		return nil, fmt.Errorf("%w: sentencepiece model: escape_whitespaces false is not supported", ErrVocab)
	}
	n := len(m.pieces)
	var tokens []string
	var scores []float32
	var types []int32
	add := func(s string, score float32, typ int32) {
		tokens = append(tokens, s)
		scores = append(scores, score)
		types = append(types, typ)
	}
	md := hfMeta{keyModel: "t5"}
	if fairseq {
		if n < 3 {
			return nil, fmt.Errorf("%w: sentencepiece model: %d pieces, too few for the fairseq layout", ErrVocab, n)
		}
		add("<s>", 0, typeControl)
		add("<pad>", 0, typeControl)
		add("</s>", 0, typeControl)
		add("<unk>", 0, typeUnknown)
		for _, p := range m.pieces[3:] {
			add(p.piece, p.score, p.typ)
		}
		add("<mask>", 0, typeControl)
		md[keyBOS], md[keyPAD], md[keyEOS], md[keyUNK] = uint64(0), uint64(1), uint64(2), uint64(3)
		md[keyAddBOS], md[keyAddEOS] = true, true
	} else {
		for _, p := range m.pieces {
			add(p.piece, p.score, p.typ)
		}
		id := func(key string, v int32) {
			if v >= 0 && int(v) < n {
				md[key] = uint64(v)
			} else {
				md[key] = int64(-1)
			}
		}
		if m.unkID < 0 || int(m.unkID) >= n {
			return nil, fmt.Errorf("%w: sentencepiece model: unk_id %d is out of range", ErrVocab, m.unkID)
		}
		id(keyUNK, m.unkID)
		id(keyBOS, m.bosID)
		id(keyEOS, m.eosID)
		id(keyPAD, m.padID)
		md[keyAddEOS] = m.eosID >= 0 && int(m.eosID) < n // T5: </s> after the text
	}
	md[keyTokens], md[keyScores], md[keyTokenType] = tokens, scores, types
	md[keyAddSpacePrefix] = m.addDummyPrefix
	md[keyRemoveExtraWS] = m.removeExtraWS
	if len(m.charsmap) > 0 {
		md[keyCharsmap] = m.charsmap
	}
	return md, nil
}
