package cloud

import (
	"math"
	"strings"
)

// Word lists of the synthetic prompts: invented, never user data.
var (
	promptWho   = []string{"a lighthouse keeper", "a small robot", "two young foxes", "a retired baker", "a girl with a red kite", "an old tortoise", "a night-shift nurse", "a travelling musician"}
	promptWhere = []string{"on a windy island", "in a quiet mountain village", "under a city bridge", "at the edge of a pine forest", "on a slow river boat", "in a crowded market"}
	promptWhat  = []string{"finds a map with no names on it", "learns to fix a broken clock", "waits for a letter that never comes", "plants a garden in winter", "loses a bet about the weather", "teaches a friend to whistle"}
	promptPad   = strings.Fields("Describe the weather, the sounds, the colours of the sky and the small objects " +
		"nearby, and let every character speak at least once in their own voice while the day slowly turns to evening.")
)

// SyntheticPrompt returns the i-th synthetic prompt, about words words long
// (at least its opening sentence): a request for a long story that keeps a
// model generating. The same i always gives the same prompt.
func SyntheticPrompt(i, words int) string {
	i = max(i, 0)
	var b strings.Builder
	b.WriteString("Write a long story about ")
	b.WriteString(promptWho[i%len(promptWho)])
	b.WriteString(" ")
	b.WriteString(promptWhere[(i/len(promptWho))%len(promptWhere)])
	b.WriteString(" who ")
	b.WriteString(promptWhat[(i/3)%len(promptWhat)])
	b.WriteString(".")
	n := len(strings.Fields(b.String()))
	words = min(words, 100000)
	for k := 0; n < words; k++ {
		b.WriteString(" ")
		b.WriteString(promptPad[k%len(promptPad)])
		n++
	}
	return b.String()
}

// meanStd returns the mean and the sample (n-1) standard deviation.
func meanStd(x []float64) (float64, float64) {
	if len(x) == 0 {
		return 0, 0
	}
	var s float64
	for _, v := range x {
		s += v
	}
	m := s / float64(len(x))
	if len(x) == 1 {
		return m, 0
	}
	var q float64
	for _, v := range x {
		q += (v - m) * (v - m)
	}
	return m, math.Sqrt(q / float64(len(x)-1))
}
