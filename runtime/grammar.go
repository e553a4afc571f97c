package runtime

import "github.com/edgeai-go/edgeai/runtime/grammar"

// GrammarVocab returns the model's vocabulary prepared for constrained
// sampling (a byte trie of the token texts), built on first use and shared
// by every generation with a GenerateOptions.Grammar.
func (m *Model) GrammarVocab() *grammar.Vocab {
	m.grammarOnce.Do(func() { m.grammarVocab = grammar.NewVocab(m.tok) })
	return m.grammarVocab
}
