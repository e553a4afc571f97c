package grammar_test

import (
	"errors"
	"fmt"

	"github.com/edgeai-go/edgeai/runtime/grammar"
)

// Parse a GBNF grammar and check texts against it.
func ExampleParseGBNF() {
	g, err := grammar.ParseGBNF(`
root   ::= answer ("," ws answer)*
answer ::= "yes" | "no" | [0-9]{1,3}
ws     ::= " "?
`)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, text := range []string{"yes, 42,no", "yes,", "maybe"} {
		m, _ := grammar.NewMatcher(g, nil, grammar.Options{})
		err := m.AcceptString(text)
		fmt.Printf("%q: accepted %v, complete %v\n", text, err == nil, err == nil && m.Complete())
	}
	// Output:
	// "yes, 42,no": accepted true, complete true
	// "yes,": accepted true, complete false
	// "maybe": accepted false, complete false
}

// A JSON Schema becomes a grammar; keywords that cannot be enforced are
// named, never dropped.
func ExampleFromJSONSchema() {
	_, err := grammar.FromJSONSchema([]byte(`{"type":"object","properties":{"mail":{"type":"string","format":"email"}},"minProperties":2}`))
	var ue *grammar.UnsupportedError
	if errors.As(err, &ue) {
		for _, k := range ue.Keywords {
			fmt.Println(k.Name, "at", k.Path)
		}
	}
	g, err := grammar.FromJSONSchema([]byte(`{"enum":["red","green"]}`))
	fmt.Print(g)
	fmt.Println(err)
	// Output:
	// minProperties at #
	// format "email" at #/properties/mail
	// root ::= "\"red\"" | "\"green\""
	// <nil>
}
