package quantize

import (
	"fmt"
	"strings"

	"github.com/edgeai-go/edgeai/quant"
)

// FileType is a model-wide quantization scheme, numbered as llama.cpp's
// llama_ftype and stored in general.file_type. A scheme names a default
// tensor type (Q4_K_M: Q4_K) and, unless Options.Pure is set, the mixing
// rules that give some tensors more bits (see Plan).
type FileType uint32

// The schemes edgeai can produce. llama.cpp's IQ1/IQ2/IQ3, TQ and Q2_K_S
// schemes are missing: their formats need search grids or an importance
// matrix that edgeai does not implement.
const (
	AllF32 FileType = 0
	F16    FileType = 1
	Q4_0   FileType = 2
	Q4_1   FileType = 3
	Q8_0   FileType = 7
	Q5_0   FileType = 8
	Q5_1   FileType = 9
	Q2_K   FileType = 10
	Q3_K_S FileType = 11
	Q3_K_M FileType = 12
	Q3_K_L FileType = 13
	Q4_K_S FileType = 14
	Q4_K_M FileType = 15
	Q5_K_S FileType = 16
	Q5_K_M FileType = 17
	Q6_K   FileType = 18
	IQ4_NL FileType = 25
	IQ4_XS FileType = 30
	BF16   FileType = 32
)

// fileTypeInfo is one row of the scheme table.
type fileTypeInfo struct {
	name    string     // the name llama-quantize accepts
	def     quant.Type // the default tensor type
	aliases []string
}

var fileTypes = map[FileType]fileTypeInfo{
	AllF32: {"F32", quant.F32, nil},
	F16:    {"F16", quant.F16, nil},
	BF16:   {"BF16", quant.BF16, nil},
	Q4_0:   {"Q4_0", quant.Q4_0, nil},
	Q4_1:   {"Q4_1", quant.Q4_1, nil},
	Q5_0:   {"Q5_0", quant.Q5_0, nil},
	Q5_1:   {"Q5_1", quant.Q5_1, nil},
	Q8_0:   {"Q8_0", quant.Q8_0, nil},
	Q2_K:   {"Q2_K", quant.Q2_K, nil},
	Q3_K_S: {"Q3_K_S", quant.Q3_K, nil},
	Q3_K_M: {"Q3_K_M", quant.Q3_K, []string{"Q3_K"}},
	Q3_K_L: {"Q3_K_L", quant.Q3_K, nil},
	Q4_K_S: {"Q4_K_S", quant.Q4_K, nil},
	Q4_K_M: {"Q4_K_M", quant.Q4_K, []string{"Q4_K"}},
	Q5_K_S: {"Q5_K_S", quant.Q5_K, nil},
	Q5_K_M: {"Q5_K_M", quant.Q5_K, []string{"Q5_K"}},
	Q6_K:   {"Q6_K", quant.Q6_K, nil},
	IQ4_NL: {"IQ4_NL", quant.IQ4_NL, nil},
	IQ4_XS: {"IQ4_XS", quant.IQ4_XS, nil},
}

// FileTypes returns the schemes edgeai can produce, in llama_ftype order.
func FileTypes() []FileType {
	out := make([]FileType, 0, len(fileTypes))
	for ft := range fileTypes {
		out = append(out, ft)
	}
	for i := 1; i < len(out); i++ { // insertion sort: a handful of entries
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// ParseFileType returns the scheme called s (case-insensitive): "Q4_K_M",
// "q8_0", "F16" ... "Q4_K", "Q5_K" and "Q3_K" mean the _M schemes, as in
// llama-quantize.
func ParseFileType(s string) (FileType, error) {
	for ft, info := range fileTypes {
		if strings.EqualFold(info.name, s) {
			return ft, nil
		}
		for _, a := range info.aliases {
			if strings.EqualFold(a, s) {
				return ft, nil
			}
		}
	}
	names := make([]string, 0, len(fileTypes))
	for _, ft := range FileTypes() {
		names = append(names, fileTypes[ft].name)
	}
	return 0, fmt.Errorf("quantize: unknown type %q (want one of %s)", s, strings.Join(names, ", "))
}

// String returns the scheme's name, e.g. "Q4_K_M", or "ftype(N)".
func (ft FileType) String() string {
	if info, ok := fileTypes[ft]; ok {
		return info.name
	}
	return fmt.Sprintf("ftype(%d)", uint32(ft))
}

// Valid reports whether edgeai can produce the scheme.
func (ft FileType) Valid() bool { _, ok := fileTypes[ft]; return ok }

// DefaultType returns the tensor type most weights get under the scheme
// (Q4_K for Q4_K_M), or false for a scheme edgeai does not know.
func (ft FileType) DefaultType() (quant.Type, bool) {
	info, ok := fileTypes[ft]
	return info.def, ok
}
