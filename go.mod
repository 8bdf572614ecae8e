module github.com/nblast-go/nblast

go 1.26
