package grammar

// Test helpers for the external test package (overhead_test.go).
var (
	BenchVocab   = benchVocab
	GreedyTokens = greedyTokens
	BenchDocs    = benchDocs
	CPUNow       = cpuNow
)
