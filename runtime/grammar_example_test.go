package runtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/edgeai-go/edgeai/runtime"
	"github.com/edgeai-go/edgeai/runtime/grammar"
)

// Constrain the output to a JSON Schema: whatever the model, the text
// parses and validates.
func ExampleGenerateOptions_grammar() {
	m, err := runtime.Load(context.Background(), "../models/testdata/stories260K.gguf")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	g, err := grammar.FromJSONSchema([]byte(`{
		"type": "object",
		"properties": {
			"name": {"type": "string", "maxLength": 12},
			"age": {"type": "integer", "minimum": 0, "maximum": 120}
		},
		"required": ["name", "age"]
	}`))
	if err != nil {
		log.Fatal(err) // an *grammar.UnsupportedError names the keywords it cannot enforce
	}
	var st runtime.Stats
	opts := runtime.GenerateOptions{Grammar: g, MaxTokens: 100, Stats: &st}
	for _, err := range m.Generate(context.Background(), "Once upon a time", opts) {
		if err != nil {
			log.Fatal(err)
		}
	}
	var v struct {
		Name string
		Age  int
	}
	fmt.Println(st.Text)
	fmt.Println(st.StopReason, st.GrammarComplete, json.Unmarshal([]byte(st.Text), &v) == nil)
	// Output:
	// { "name" : "I can help m" , "age" : 30 }
	// eos true true
}
