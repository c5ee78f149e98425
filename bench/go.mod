module github.com/entrakit/entrakit/bench

go 1.25

require github.com/entrakit/entrakit v0.0.0

replace github.com/entrakit/entrakit => ../
