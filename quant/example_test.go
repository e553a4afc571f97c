package quant_test

import (
	"fmt"

	"github.com/edgeai-go/edgeai/quant"
)

func ExampleQuantize() {
	x := make([]float32, 32)
	for i := range x {
		x[i] = float32(i-16) / 4
	}
	n, _ := quant.Q8_0.RowBytes(len(x)) // 34 bytes: a half scale and 32 int8
	q := make([]byte, n)
	if err := quant.Quantize(quant.Q8_0, x, q); err != nil {
		fmt.Println(err)
		return
	}
	y := make([]float32, len(x))
	if err := quant.Dequantize(quant.Q8_0, q, y); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(n, x[1], y[1])
	// Output: 34 -3.75 -3.7478027
}

func ExampleDequantize_errors() {
	y := make([]float32, 32)
	fmt.Println(quant.Dequantize(quant.Q4_0, make([]byte, 17), y))
	fmt.Println(quant.Dequantize(quant.IQ2_XXS, make([]byte, 66), make([]float32, 256)))
	// Output:
	// quant: dequantize Q4_0: quant: size mismatch: 32 values take 18 bytes, got 17
	// quant: unsupported tensor type: IQ2_XXS: cannot dequantize
}
