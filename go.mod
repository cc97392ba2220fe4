module github.com/hangxomso/hangxom

go 1.26.8
