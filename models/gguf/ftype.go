package gguf

import "fmt"

// fileTypes names the values of general.file_type (llama.cpp's llama_ftype,
// which describes the predominant tensor type of a model file).
var fileTypes = map[uint32]string{
	0:  "ALL_F32",
	1:  "MOSTLY_F16",
	2:  "MOSTLY_Q4_0",
	3:  "MOSTLY_Q4_1",
	4:  "MOSTLY_Q4_1_SOME_F16",
	5:  "MOSTLY_Q4_2", // removed from llama.cpp
	6:  "MOSTLY_Q4_3", // removed from llama.cpp
	7:  "MOSTLY_Q8_0",
	8:  "MOSTLY_Q5_0",
	9:  "MOSTLY_Q5_1",
	10: "MOSTLY_Q2_K",
	11: "MOSTLY_Q3_K_S",
	12: "MOSTLY_Q3_K_M",
	13: "MOSTLY_Q3_K_L",
	14: "MOSTLY_Q4_K_S",
	15: "MOSTLY_Q4_K_M",
	16: "MOSTLY_Q5_K_S",
	17: "MOSTLY_Q5_K_M",
	18: "MOSTLY_Q6_K",
	19: "MOSTLY_IQ2_XXS",
	20: "MOSTLY_IQ2_XS",
	21: "MOSTLY_Q2_K_S",
	22: "MOSTLY_IQ3_XS",
	23: "MOSTLY_IQ3_XXS",
	24: "MOSTLY_IQ1_S",
	25: "MOSTLY_IQ4_NL",
	26: "MOSTLY_IQ3_S",
	27: "MOSTLY_IQ3_M",
	28: "MOSTLY_IQ2_S",
	29: "MOSTLY_IQ2_M",
	30: "MOSTLY_IQ4_XS",
	31: "MOSTLY_IQ1_M",
	32: "MOSTLY_BF16",
	33: "MOSTLY_Q4_0_4_4", // removed from llama.cpp
	34: "MOSTLY_Q4_0_4_8", // removed from llama.cpp
	35: "MOSTLY_Q4_0_8_8", // removed from llama.cpp
	36: "MOSTLY_TQ1_0",
	37: "MOSTLY_TQ2_0",
}

// fileTypeGuessed is the flag llama.cpp adds to a file type it inferred.
const fileTypeGuessed = 1024

// FileTypeName returns the name of a general.file_type value, e.g.
// "MOSTLY_Q4_K_M" for 15, with " (guessed)" if the guessed flag (1024) is
// set, or "ftype(N)" for a value it does not know.
func FileTypeName(ftype uint32) string {
	if ftype&fileTypeGuessed != 0 {
		return FileTypeName(ftype&^fileTypeGuessed) + " (guessed)"
	}
	if s, ok := fileTypes[ftype]; ok {
		return s
	}
	return fmt.Sprintf("ftype(%d)", ftype)
}

// FileType returns general.file_type and its name (see FileTypeName).
func (f *File) FileType() (uint32, string, bool) {
	v, ok := f.Uint("general.file_type")
	if !ok || v > 1<<31 {
		return 0, "", false
	}
	return uint32(v), FileTypeName(uint32(v)), true
}
