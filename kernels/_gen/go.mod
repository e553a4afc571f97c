module github.com/edgeai-go/edgeai/kernels/_gen

go 1.26
